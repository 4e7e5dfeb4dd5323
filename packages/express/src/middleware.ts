/**
 * The Express middleware: per-route `authorize` and the app-level `authenticate`. Both ask the guard,
 * answer refusals with problem+json, and run the rest of the chain as the verified caller.
 */
import { attachRequestGrant, type AuthenticateOptions, type Guard, type GuardOutcome, type RouteAuthorization } from '@meshguard/core'
import type { NextFunction, Request, RequestHandler, Response } from 'express'
import { viewOf } from './request-view.js'
import { sendFailure } from './respond.js'

/** Options of the per-route {@link authorize} middleware: the pipeline's route settings with Express's request. */
export type ExpressRouteAuthorization<Req extends Request = Request> = RouteAuthorization<Req>

/** Options of the app-level {@link authenticate} middleware. */
export interface ExpressAuthenticateOptions extends AuthenticateOptions {
  /**
   * Requests that skip the guard: exact paths (`/health`) or a predicate. Everything else needs a
   * verified caller (fail closed).
   * @defaultValue none
   */
  public?: readonly string[] | ((req: Request) => boolean) | undefined
}

/** Continues as the verified caller, or answers the refusal. */
function settle(guard: Guard, result: GuardOutcome, req: Request, res: Response, next: NextFunction): void {
  if (!result.ok) {
    sendFailure(res, result)
    return
  }
  // Not a property of `req`: see attachRequestGrant (Express gives each request a hidden class of its own).
  attachRequestGrant(req, res, { caller: result.caller, decision: result.decision })
  guard.run(result.caller, next)
}

/** Settles now when the guard answered now (the warm path: no promise). Errors escaping the guard fail closed. */
function proceed(
  guard: Guard,
  outcome: GuardOutcome | Promise<GuardOutcome>,
  req: Request,
  res: Response,
  next: NextFunction,
): void {
  if (!(outcome instanceof Promise)) {
    settle(guard, outcome, req, res, next)
    return
  }
  outcome.then(
    (result) => settle(guard, result, req, res, next),
    (err: unknown) => {
      if (res.headersSent) next(err)
      else sendFailure(res, guard.fail(err))
    },
  )
}

/** The guard's answer for a request: a route check, or authentication only; never throws (fails closed). */
function ask<Req extends Request>(
  guard: Guard,
  req: Req,
  route: ExpressRouteAuthorization<Req> | undefined,
  authOptions: AuthenticateOptions | undefined,
): GuardOutcome | Promise<GuardOutcome> {
  try {
    const view = viewOf(req)
    return route === undefined ? guard.authenticateNow(view, authOptions) : guard.authorizeNow(view, route)
  } catch (err) {
    return guard.fail(err)
  }
}

/**
 * Per-route middleware: verifies the caller, resolves the resource, asks the policy, and only then
 * calls the handler (inside the caller context, with `req.meshguard` set). Works on Express 4.21+ and 5.
 *
 * @param guard - from `createGuard` or `createMeshguard`.
 * @param route - resource (kind, function or async loader), action, and actor requirement.
 * @example
 * ```ts
 * app.get('/reviews/:id', authorize(guard, { resource: 'review', action: 'read', actor: 'required' }), handler)
 * ```
 */
export function authorize<Req extends Request = Request>(guard: Guard, route: ExpressRouteAuthorization<Req>): RequestHandler {
  return function meshguardAuthorize(req, res, next) {
    proceed(guard, ask(guard, req as Req, route, undefined), req, res, next)
  }
}

/**
 * App-level middleware: every request needs a verified caller unless it is listed as public. Routes
 * still add {@link authorize} for their policy check.
 *
 * @example
 * ```ts
 * app.use(authenticate(guard, { public: ['/health'] }))
 * ```
 */
export function authenticate(guard: Guard, options: ExpressAuthenticateOptions = {}): RequestHandler {
  const publicPaths = typeof options.public === 'function' ? undefined : new Set(options.public ?? [])
  const isPublic = typeof options.public === 'function' ? options.public : (req: Request) => publicPaths?.has(req.path) === true
  const authOptions = { actor: options.actor }
  return function meshguardAuthenticate(req, res, next) {
    if (isPublic(req)) {
      next()
      return
    }
    proceed(guard, ask(guard, req, undefined, authOptions), req, res, next)
  }
}
