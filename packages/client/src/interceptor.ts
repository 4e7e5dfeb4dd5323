import { context } from '@opentelemetry/api'
import { MeshguardError, MintError, RequestError } from '@meshguard/core'
import type { Dispatcher } from 'undici'

import { canonicalOrigin, type Destination } from './destinations.js'
import { copyHeaders, type HeaderRecord } from './headers.js'
import { failBeforeSend } from './not-sent-controller.js'
import { currentPinnedPlan, type OutboundPlan } from './outbound-plan.js'
import { resolveClientOptions, type ResolvedClientOptions } from './resolve-options.js'
import { injectTraceContext } from './trace.js'
import type { MeshguardClientOptions, OutboundActing, OutboundHeadersRequest as OutboundIdentityRequest } from './types.js'

/**
 * An undici interceptor that gives every request to a mapped callee a workload token minted for
 * exactly that callee, the actor token of the call being served, the transaction id and the trace
 * context. Requests to unmapped origins carry none of them (or are refused, per `onUnmapped`).
 *
 * Compose it *inside* undici's redirect interceptor, i.e. before it in the argument list:
 * `new Agent().compose(meshguardInterceptor(options), interceptors.redirect({ maxRedirections: 3 }))`.
 * Each redirect hop then comes back through this interceptor, and a hop to another origin is sent
 * without identity. Identity-bearing requests are dispatched with `maxRedirections: 0`, so a redirect
 * interceptor composed on the wrong side cannot follow them with the headers attached.
 *
 * @example
 * ```ts
 * const agent = new Agent().compose(
 *   meshguardInterceptor({ identity, destinations: { 'http://reviews.internal:8080': 'spiffe://acme/reviews' } }),
 * )
 * await request('http://reviews.internal:8080/reviews/7', { dispatcher: agent })
 * ```
 * @throws ConfigError (`ERR_AUTHZ_INVALID_CONFIG`) at construction for bad options. Per request,
 *   the handler's `onResponseError` receives a `MintError` (`ERR_AUTHZ_MINT_FAILED`; reason from the
 *   minting side, or `destination_unmapped` when refusing) before anything is sent.
 */
export function meshguardInterceptor(options: MeshguardClientOptions): Dispatcher.DispatcherComposeInterceptor {
  return interceptorFor(resolveClientOptions(options))
}

/** Builds the interceptor over already-resolved options (shared with the fetch wrapper). */
export function interceptorFor(resolved: ResolvedClientOptions): Dispatcher.DispatcherComposeInterceptor {
  // Plans of logical requests dispatched through this interceptor, keyed by their handler: undici's
  // redirect and retry handlers re-dispatch later hops with the same handler object.
  const plansByHandler = new WeakMap<object, OutboundPlan>()

  const planFor = (handler: Dispatcher.DispatchHandler, origin: string | undefined): OutboundPlan => {
    // A handler seen before is a later hop of its own request: its plan wins over any ambient one.
    const known = plansByHandler.get(handler)
    if (known !== undefined) return known
    const pinned = currentPinnedPlan()
    if (pinned !== undefined && pinned.owner === resolved) return pinned
    const plan = newPlan(resolved, origin)
    plansByHandler.set(handler, plan)
    return plan
  }

  return (dispatch) =>
    function meshguardDispatch(opts: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler): boolean {
      let step: DispatchStep
      try {
        const origin = opts.origin === undefined ? undefined : canonicalOrigin(opts.origin)
        step = decide(resolved, opts, origin, planFor(handler, origin))
      } catch (err) {
        failBeforeSend(handler, toError(err))
        return true
      }
      if (step.kind === 'send') return dispatch({ ...opts, headers: step.headers }, handler)
      if (step.kind === 'refuse') {
        failBeforeSend(handler, step.error)
        return true
      }
      resolved.identity.headersFor(identityRequest(resolved, step, opts)).then(
        (minted) => {
          // Nothing has been sent yet, so a failure here is still reported before sending.
          try {
            // maxRedirections 0: a redirect interceptor below us must not follow with identity attached.
            dispatch({ ...opts, headers: withMinted(step.headers, minted), maxRedirections: 0 } as Dispatcher.DispatchOptions, handler)
          } catch (err) {
            failBeforeSend(handler, toError(err))
          }
        },
        (err: unknown) => {
          failBeforeSend(handler, toMintError(err))
        },
      )
      return true
    }
}

/**
 * Starts the plan of a new logical request from the ambient caller and trace context.
 *
 * @throws MintError when whom the call acts for cannot be determined (`actor_expired` from core's
 *   caller context, `acting_unknown` when an `acting` hook throws).
 */
export function newPlan(resolved: ResolvedClientOptions, origin: string | undefined): OutboundPlan {
  let acting: OutboundActing | undefined
  try {
    // Only the first hop's origin can ever receive identity: whom an unmapped call acts for is moot.
    const mapped = origin !== undefined && resolved.destinations.lookup(origin) !== undefined
    acting = mapped ? resolved.acting() : undefined
  } catch (err) {
    // Not knowing whom a call acts for must stop it, never send it as someone else.
    if (err instanceof MeshguardError) throw err
    throw new MintError('acting_unknown', 'could not tell whom the outbound call acts for', { cause: err })
  }
  return Object.freeze({ owner: resolved, origin, acting: snapshot(acting), traceContext: context.active() })
}

/** A frozen copy, so later changes to the caller's object cannot change what a redirect hop sends. */
function snapshot(acting: OutboundActing | undefined): OutboundActing | undefined {
  if (acting === undefined) return undefined
  return Object.freeze({ caller: acting.caller, actor: acting.actor, txnToken: acting.txnToken, transactionId: acting.transactionId })
}

type DispatchStep =
  | { readonly kind: 'send'; readonly headers: HeaderRecord }
  | { readonly kind: 'refuse'; readonly error: MintError }
  | { readonly kind: 'mint'; readonly headers: HeaderRecord; readonly destination: Destination; readonly origin: string; readonly plan: OutboundPlan }

function decide(
  resolved: ResolvedClientOptions,
  opts: Dispatcher.DispatchOptions,
  origin: string | undefined,
  plan: OutboundPlan,
): DispatchStep {
  const destination = origin === undefined ? undefined : resolved.destinations.lookup(origin)
  if (destination === undefined && resolved.onUnmapped === 'refuse') {
    return { kind: 'refuse', error: new MintError('destination_unmapped', `no callee is mapped for origin ${origin ?? '(none)'}`) }
  }
  const headers = copyHeaders(opts.headers, resolved.identityHeaders)
  if (destination !== undefined || resolved.propagateTraceToUnmapped) {
    injectTraceContext(headers, plan.traceContext, resolved.propagator)
  }
  // A hop to any origin other than the first one (a redirect) never carries identity, even when
  // that origin is mapped: the redirecting server chose it, not the code making the call. Once a
  // chain has left the first origin, nothing after carries identity either: a foreign server that
  // redirects back would choose the path and method identity is attached to.
  if (origin !== plan.origin) {
    departedPlans.add(plan)
    return { kind: 'send', headers }
  }
  if (destination === undefined || departedPlans.has(plan)) return { kind: 'send', headers }
  return { kind: 'mint', headers, destination, origin: origin as string, plan }
}

type MintStep = Extract<DispatchStep, { kind: 'mint' }>

/**
 * What the minting side is asked for one attempt. A WIMSE identity (one with `contextHeaders`) also
 * gets the target URI (its proof's `aud`), the destination's WPT audience and the context tokens to bind.
 */
function identityRequest(resolved: ResolvedClientOptions, step: MintStep, opts: Dispatcher.DispatchOptions): OutboundIdentityRequest {
  const request = { ...step.plan.acting, audience: step.destination.audience }
  const contextHeaders = resolved.identity.contextHeaders
  if (contextHeaders === undefined) return request
  const path = typeof opts.path === 'string' ? opts.path : '/'
  const cut = path.search(/[?#]/)
  let contextTokens: Record<string, string> | undefined
  for (const name of contextHeaders) {
    const value = step.headers[name]
    if (typeof value === 'string') (contextTokens ??= {})[name] = value
  }
  return { ...request, target: step.origin + (cut === -1 ? path : path.slice(0, cut)), proofAudience: step.destination.wptAudience, contextTokens }
}

/** Plans of requests whose redirect chain has left their first origin (it never carries identity again). */
const departedPlans = new WeakSet<OutboundPlan>()

function withMinted(headers: HeaderRecord, minted: Record<string, string>): HeaderRecord {
  if (typeof minted !== 'object' || (minted as unknown) === null) {
    throw new MintError('mint_invalid_result', 'the minting side returned no headers')
  }
  const out: HeaderRecord = { ...headers }
  for (const [name, value] of Object.entries(minted)) {
    if (typeof value !== 'string') throw new MintError('mint_invalid_result', `minted header ${name} is not a string`)
    out[name.toLowerCase()] = value
  }
  return out
}

function toMintError(err: unknown): MintError {
  if (err instanceof MintError) return err
  return new MintError('mint_failed', 'could not mint the outbound workload token', { cause: err })
}

function toError(err: unknown): Error {
  if (err instanceof MeshguardError) return err
  if (err instanceof Error) return err
  return new RequestError('the request could not be prepared', { cause: err })
}
