/**
 * The Express middleware: per-route `authorize` and the app-level `authenticate`. Both ask the guard,
 * answer refusals with problem+json, and run the rest of the chain as the verified caller.
 */
import {
  type AuthenticateOptions,
  type Guard,
  type ListRouteAuthorization,
  type RouteAuthorization,
} from '@meshguard/core'
import {
  attachRequestGrant,
  checkAuthenticateOptions,
  decideListRequest,
  decideRequest,
  whenDecided,
  type GuardOutcome,
  UNGUARDED_ROUTE,
  type RouteRequirement,
} from '@meshguard/core/adapter'
import type { Express, NextFunction, Request, RequestHandler, Response, Router } from 'express'
import { marked, refuseRoutes } from './routes.js'
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

/** Continues as the verified caller, or answers the refusal (one per middleware: nothing is made per request). */
function settlerFor(guard: Guard): (result: GuardOutcome, req: Request, res: Response, next: NextFunction) => void {
  return (result, req, res, next) => {
    if (!result.ok) {
      if (res.headersSent) next(result.error)
      else sendFailure(res, result)
      return
    }
    // Not a property of `req`: see attachRequestGrant (Express gives each request a hidden class of its own).
    attachRequestGrant(req, res, result)
    guard.run(result.caller, next)
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
  // Checked now, when the route is declared: a bad setting stops start-up, not every request.
  const compiled = guard.compileRoute(route, 'authorize()')
  const settle = settlerFor(guard)
  return marked(function meshguardAuthorize(req, res, next) {
    void whenDecided(guard, decideRequest(guard, viewOf, req as Req, undefined, compiled), settle, req, res, next)
  }, { kind: 'authorize', route: compiled })
}

/**
 * Per-route middleware for list routes: verifies the caller exactly as {@link authorize}, asks the
 * engine for a query plan for the verified principal, and calls the handler with
 * `req.meshguard.plan` (pass it to `planToSql` from `@meshguard/kysely`, or `plan.keep(rows)` in
 * memory). A plan that denies every resource is a 403 unless the route's `emptyForRoles` say otherwise.
 *
 * @param guard - from `createGuard` or `createMeshguard`; its engine must plan (the embedded engine does).
 * @param route - resource kind, action, actor requirement, `emptyForRoles`.
 * @throws PlanUnsupportedError when the guard's engine cannot plan (at start-up, not per request)
 * @example
 * ```ts
 * app.get('/reviews', authorizeList(guard, { resource: 'review', action: 'read', actor: 'required' }), (req, res) => {
 *   res.json(req.meshguard!.plan!.keep(rows, (r) => ({ id: r.id, attr: r })))
 * })
 * ```
 */
export function authorizeList(guard: Guard, route: ListRouteAuthorization): RequestHandler {
  const compiled = guard.compileListRoute(route, 'authorizeList()')
  const settle = settlerFor(guard)
  return marked(function meshguardAuthorizeList(req, res, next) {
    void whenDecided(guard, decideListRequest(guard, viewOf, req, undefined, compiled), settle, req, res, next)
  }, { kind: 'list', route: compiled })
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
  const authOptions = checkAuthenticateOptions({ actor: options.actor, scope: options.scope, claims: options.claims }, 'authenticate()')
  const settle = settlerFor(guard)
  return marked(function meshguardAuthenticate(req, res, next) {
    if (isPublic(req)) {
      next()
      return
    }
    void whenDecided(guard, decideRequest(guard, viewOf, req, undefined, undefined, authOptions), settle, req, res, next)
  }, { kind: 'authenticated' })
}

/**
 * The app-level mode that refuses unguarded routes: every route of `app` without `authorize()`,
 * `authorizeList()` or `publicRoute()` gets the caller verified (401 on bad credentials) and is
 * then answered 403 `route_unguarded`, audited like a denial; its handler never runs. Routes
 * guarded only by an app-level {@link authenticate} are refused too (nothing decides about their
 * resource). Fastify's and Nest's `unconfigured: 'refuse'` do the same. Call it once, after the
 * routes are declared; routes declared later are not covered (`assertRoutesGuarded` from
 * `@meshguard/express/testing` catches them in a test).
 *
 * @returns the routes it refuses, for a start-up log line
 * @example
 * ```ts
 * app.get('/reviews/:id', authorize(guard, { resource: 'review', action: 'read' }), handler)
 * app.get('/health', publicRoute(), health)
 * refuseUnguardedRoutes(app, guard)
 * ```
 */
export function refuseUnguardedRoutes(app: Express | Router, guard: Guard): RouteRequirement[] {
  const refuser = authorize(guard, UNGUARDED_ROUTE)
  return refuseRoutes(app, marked((req, res, next) => refuser(req, res, next), { kind: 'refused' }))
}
