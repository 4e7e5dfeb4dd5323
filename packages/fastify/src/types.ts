/** Options of the Fastify plugin and the request/route typing it adds to Fastify. */
import type { AuthenticateOptions, Guard, GuardGrant, ListRouteAuthorization, RouteAuthorization } from '@meshguard/core'
import type { FastifyRequest } from 'fastify'

/** Per-route settings in `config.meshguard`: the pipeline's route settings with Fastify's request. */
export type FastifyRouteAuthorization = RouteAuthorization<FastifyRequest>

/**
 * A list route in `config.meshguard`: `{ list: { resource, action, actor?, emptyForRoles? } }`. The
 * handler gets the query plan as `request.meshguard.plan`.
 */
export interface FastifyListRoute {
  list: ListRouteAuthorization
}

/** Marks a route as public: no credentials needed, nothing attached. */
export interface FastifyPublicRoute {
  public: true
}

/** The hooks the guard can run in; each has the request params, and all but `onRequest` the body. */
export type MeshguardHook = 'onRequest' | 'preValidation' | 'preHandler'

/** Options of the plugin. */
export interface MeshguardFastifyOptions {
  /** From `createGuard` or `createMeshguard`. */
  guard: Guard
  /**
   * The hook the guard runs in. `preHandler` sees the parsed and validated body, so body-derived
   * resources work; `onRequest` refuses before the body is read.
   * @defaultValue `'preHandler'`
   */
  hook?: MeshguardHook | undefined
  /**
   * Routes without `config.meshguard` still need a verified caller (fail closed) with these options;
   * `'refuse'` answers them 403 `route_unguarded` once the caller is verified (the same as Express's
   * `refuseUnguardedRoutes` and Nest's `unconfigured: 'refuse'`); `'public'` lets them through.
   * @defaultValue `{}` (a verified caller, the guard's default actor requirement)
   */
  unconfigured?: AuthenticateOptions | 'public' | 'refuse' | undefined
}

declare module 'fastify' {
  interface FastifyRequest {
    /** The verified caller and decision; `null` until the guard has run, and on public routes. */
    meshguard: GuardGrant | null
  }
  interface FastifyContextConfig {
    /** How meshguard protects this route. */
    meshguard?: FastifyRouteAuthorization | FastifyListRoute | FastifyPublicRoute | undefined
  }
}
