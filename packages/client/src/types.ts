import type { TextMapPropagator } from '@opentelemetry/api'

import type { DestinationMap } from './destinations.js'

/** What the client asks the minting side for one outbound request. */
export interface OutboundHeadersRequest {
  /** The callee's audience, from the destination map. */
  audience: string
  /** The actor token to forward and bind to, or `undefined` when acting as the service itself. */
  actor?: string | undefined
  /** The transaction id to propagate; the minting side creates one when absent. */
  transactionId?: string | undefined
}

/**
 * The minting side the client needs: core's `createWorkloadIdentity(...)` result satisfies it.
 * `headersFor` resolves to every identity header of the request (workload token for `audience`,
 * the actor token as-is, transaction id) and rejects with a `MintError` when it cannot.
 */
export interface OutboundIdentity {
  headersFor(request: OutboundHeadersRequest): Promise<Record<string, string>>
}

/** The caller being served, as far as the outbound side needs it. */
export interface OutboundCaller {
  /** The raw actor token the caller presented, forwarded unchanged. */
  readonly actorToken?: string | undefined
  /** The caller's transaction id. */
  readonly transactionId?: string | undefined
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
   * Where the actor of the current call comes from. Defaults to core's `callerContext`, which the
   * adapters set per incoming request. Return `undefined` to act as the service itself.
   */
  caller?: (() => OutboundCaller | undefined) | undefined
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
   * Header names (any case) that only meshguard may set: the actor token and transaction id headers.
   * They are removed from every request before the client adds its own, so a caller-set value never
   * reaches an unmapped host and never stands in for a minted one. On mapped destinations every
   * header the minting side returns (including `authorization`) also replaces any caller-set value.
   * A caller's own `authorization` to an unmapped host (a third-party API key) is left alone.
   *
   * @defaultValue the actor and transaction id header names of core's identity module
   */
  identityHeaders?: readonly string[] | undefined
}
