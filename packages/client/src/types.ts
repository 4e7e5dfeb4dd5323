import type { TextMapPropagator } from '@opentelemetry/api'
import type { OutboundContext, OutboundIdentityRequest, WorkloadIdentity } from '@meshguard/core'

import type { DestinationMap } from './destinations.js'

/**
 * Who one outbound call acts for: core's `OutboundContext`, as `callerContext.outbound()` returns it.
 * `caller` is the inbound caller being served (its actor token is forwarded, its transaction id
 * propagated, its workload joins the `act` chain); `actor` an explicit actor token (a background
 * job); all empty means the service acts as itself.
 */
export type OutboundActing = OutboundContext

/** What the client asks the minting side for one request: core's `OutboundIdentityRequest`. */
export type OutboundHeadersRequest = OutboundIdentityRequest

/**
 * The minting side the client needs: the `headersFor` of core's `createWorkloadIdentity(...)`, which
 * resolves to every identity header of the request (workload token for the audience, the actor token
 * as-is, the transaction id) or rejects with a `MintError`.
 */
export type OutboundIdentity = Pick<WorkloadIdentity, 'headersFor'> & {
  /**
   * Context-token headers the minting side binds (WIMSE `oth`): their values on each request are
   * handed over as `contextTokens`. `createWimseIdentity(...)` sets it.
   */
  readonly contextHeaders?: readonly string[] | undefined
}

/** What to do with a request to an origin that is not in the destination map. */
export type OnUnmapped = 'send-anonymous' | 'refuse'

/** Options of {@link meshguardInterceptor} and {@link createMeshguardFetch}. */
export interface MeshguardClientOptions {
  /** Mints the identity headers per callee (core's `createWorkloadIdentity(...)`). */
  identity: OutboundIdentity
  /** Origin → callee. Only these origins ever receive identity headers. */
  destinations: DestinationMap
  /**
   * An unmapped origin gets the request without identity headers (`send-anonymous`), or the request
   * fails with `MintError` reason `destination_unmapped` before anything is sent (`refuse`).
   *
   * @defaultValue `'send-anonymous'`
   */
  onUnmapped?: OnUnmapped | undefined
  /**
   * Who the current call acts for, read once when a request is first dispatched. Defaults to core's
   * `callerContext` (set per incoming request by the adapters, with explicit modes for background
   * jobs). Return `undefined` to act as the service itself.
   */
  acting?: (() => OutboundActing | undefined) | undefined
  /**
   * Propagator for `traceparent`/`tracestate`. Defaults to the global one of `@opentelemetry/api`
   * (a no-op without an SDK).
   */
  propagator?: TextMapPropagator | undefined
  /**
   * Also propagate trace context to unmapped origins. Off by default: a global propagator may carry
   * baggage that should not leave the mesh.
   *
   * @defaultValue `false`
   */
  propagateTraceToUnmapped?: boolean | undefined
  /**
   * Header names (any case) that only meshguard may set: the actor token, transaction id, Txn-Token and `Workload-Identity-Token` headers.
   * They are removed from every request before the client adds its own, so a caller-set value never
   * reaches an unmapped host and never stands in for a minted one. On mapped destinations every
   * header the minting side returns (including `authorization`) also replaces any caller-set value.
   * A caller's own `authorization` to an unmapped host (a third-party API key) is left alone.
   *
   * @defaultValue the actor, transaction id and Txn-Token header names of core's identity module
   */
  identityHeaders?: readonly string[] | undefined
}
