/**
 * `@meshguard/fastify/testing`: the route table of a Fastify app protected by the meshguard
 * plugin, for a service's own test suite. Call after `await app.ready()`.
 *
 * @example
 * ```ts
 * import { assertRoutesGuarded } from '@meshguard/fastify/testing'
 * it('guards every route', async () => { await app.ready(); assertRoutesGuarded(app) })
 * ```
 *
 * @packageDocumentation
 */
import { assertRoutesGuarded as assertGuarded, type RouteRequirement } from '@meshguard/core/adapter'
import type { FastifyInstance } from 'fastify'
import { recordedRoutes } from './routes.js'

export { formatRouteTable } from '@meshguard/core/adapter'
export type { RouteRequirement, RouteGuardKind } from '@meshguard/core/adapter'

/** Every route registered after the plugin, with its resource, action and actor requirement. */
export function listRoutes(app: FastifyInstance): RouteRequirement[] {
  return recordedRoutes(app)
}

/**
 * Fails when a route has no policy check and is not marked public (`config.meshguard.public`, or
 * `unconfigured: 'public'`); routes refused by `unconfigured: 'refuse'` pass.
 *
 * @throws ConfigError naming every such route, as a table
 */
export function assertRoutesGuarded(app: FastifyInstance): void {
  assertGuarded(listRoutes(app))
}
