/** Public types of the Nest adapter. */
import type { AuthenticateOptions, Guard, GuardGrant, RouteAuthorization } from '@meshguard/core'

/**
 * What resolvers see of a request on either Nest platform (Express or Fastify): both requests have
 * these members.
 */
export interface NestHttpRequest {
  params: Record<string, string>
  query: unknown
  body: unknown
  headers: Record<string, string | string[] | undefined>
  /** The verified caller and decision, set by `MeshguardGuard`. */
  meshguard?: GuardGrant | null | undefined
}

/** Route settings stored by `@Authorize()`. */
export type NestRouteAuthorization = RouteAuthorization<NestHttpRequest>

/** Options of `MeshguardModule.forRoot` (or returned by the `forRootAsync` factory). */
export interface MeshguardModuleOptions {
  /** From `createGuard` or `createMeshguard`. */
  guard: Guard
  /**
   * Handlers without `@Authorize()` or `@Public()` still need a verified caller (fail closed) with
   * these options; `'refuse'` answers them 403 `route_unguarded` once the caller is verified (as
   * Express's `refuseUnguardedRoutes` and Fastify's `unconfigured: 'refuse'` do); `'public'` lets
   * them through.
   * @defaultValue `{}`
   */
  unconfigured?: AuthenticateOptions | 'public' | 'refuse' | undefined
}

/** Extra `forRoot`/`forRootAsync` settings. */
export interface MeshguardModuleExtras {
  /**
   * Register `MeshguardGuard` for every route (`APP_GUARD`). Set false to apply it per controller with
   * `@UseGuards(MeshguardGuard)`.
   * @defaultValue true
   */
  useGlobalGuard: boolean
}
