/**
 * `@meshguard/express/testing`: the route table of an Express app, for a service's own test suite.
 *
 * @example
 * ```ts
 * import { assertRoutesGuarded, listRoutes } from '@meshguard/express/testing'
 * it('guards every route', () => assertRoutesGuarded(app))
 * console.log(formatRouteTable(listRoutes(app)))
 * ```
 *
 * @packageDocumentation
 */
import { assertRoutesGuarded as assertGuarded, type RouteRequirement } from '@meshguard/core/adapter'
import type { Express, Router } from 'express'
import { findRoutes, requirementOfRoute } from './routes.js'

export { formatRouteTable } from '@meshguard/core/adapter'
export type { RouteRequirement, RouteGuardKind } from '@meshguard/core/adapter'

/** Every route of `app` (routers mounted on it included) with its resource, action and actor requirement. */
export function listRoutes(app: Express | Router): RouteRequirement[] {
  return findRoutes(app).map(requirementOfRoute)
}

/**
 * Fails when a route of `app` has no policy check and no `publicRoute()` marker.
 *
 * @throws ConfigError naming every such route, as a table
 */
export function assertRoutesGuarded(app: Express | Router): void {
  assertGuarded(listRoutes(app))
}
