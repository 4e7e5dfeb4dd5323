/**
 * The one flow every adapter runs: ask the guard for a request's outcome (never throwing), then act
 * on it now when it is known at once (the warm path: no promise, no microtask) or when it settles.
 */
import type { MaybePromise } from '../internal/maybe-async.js'
import type { AuthenticateOptions, Guard, GuardOutcome, ListRouteAuthorization, RequestView, RouteAuthorization, VerifiedCallerLike } from './types.js'

/**
 * The guard's outcome for one request: the route's check, or authentication only when `route` is
 * undefined. The view is built here (`viewOf(request, extra)`, a module-level function, so no closure
 * is made per request); anything thrown while building it fails closed as a refusal.
 */
export function decideRequest<Req, Extra, Caller extends VerifiedCallerLike>(
  guard: Guard<Caller>,
  viewOf: (request: Req, extra: Extra) => RequestView<Req>,
  request: Req,
  extra: Extra,
  route: RouteAuthorization<Req> | undefined,
  authenticateOptions?: AuthenticateOptions,
): MaybePromise<GuardOutcome<Caller>> {
  try {
    const view = viewOf(request, extra)
    return route === undefined ? guard.authenticateNow(view, authenticateOptions) : guard.authorizeNow(view, route)
  } catch (err) {
    return guard.fail(err)
  }
}

/**
 * The guard's outcome for one request to a list route (`guard.planNow`), the view built as in
 * {@link decideRequest}; anything thrown while building it fails closed.
 */
export function decideListRequest<Req, Extra, Caller extends VerifiedCallerLike>(
  guard: Guard<Caller>,
  viewOf: (request: Req, extra: Extra) => RequestView<Req>,
  request: Req,
  extra: Extra,
  route: ListRouteAuthorization,
): MaybePromise<GuardOutcome<Caller>> {
  try {
    return guard.planNow(viewOf(request, extra), route)
  } catch (err) {
    return guard.fail(err)
  }
}

/**
 * Calls `settle(outcome, a, b, c)`: synchronously when the outcome is already known, else once it
 * settles (the request's parts travel as arguments, so the warm path makes no closure). The guard
 * never rejects; should a promise reject anyway, the request is refused (`guard.fail`).
 */
export function whenDecided<Caller extends VerifiedCallerLike, A, B, C, R>(
  guard: Guard<Caller>,
  outcome: MaybePromise<GuardOutcome<Caller>>,
  settle: (outcome: GuardOutcome<Caller>, a: A, b: B, c: C) => R,
  a: A,
  b: B,
  c: C,
): R | Promise<R> {
  if (!(outcome instanceof Promise)) return settle(outcome, a, b, c)
  return outcome.then(
    (result) => settle(result, a, b, c),
    (err: unknown) => settle(guard.fail(err), a, b, c),
  )
}
