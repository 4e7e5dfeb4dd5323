/**
 * The routes a meshguard-protected Fastify app declared, as the plugin saw them registered: read
 * back by `@meshguard/fastify/testing` as a route table.
 */
import type { AuthenticateOptions } from '@meshguard/core'
import { requirementOf, type RouteRequirement } from '@meshguard/core/adapter'
import type { FastifyInstance, RouteOptions } from 'fastify'
import type { FastifyListRoute, FastifyPublicRoute, FastifyRouteAuthorization } from './types.js'

/** Per app, keyed by its HTTP server (shared by every encapsulation context of one app), by method and URL. */
const registries = new WeakMap<object, Map<string, RouteRequirement>>()

type Unconfigured = AuthenticateOptions | 'public' | 'refuse'

function requirementFor(method: string, url: string, setting: FastifyRouteAuthorization | FastifyListRoute | FastifyPublicRoute | undefined, unconfigured: Unconfigured): RouteRequirement {
  if (setting === undefined) {
    const guard = unconfigured === 'public' ? 'public' : unconfigured === 'refuse' ? 'refused' : 'authenticated'
    return { method, path: url, guard }
  }
  if ((setting as { public?: unknown }).public === true) return { method, path: url, guard: 'public' }
  if ((setting as Partial<FastifyListRoute>).list !== undefined) return requirementOf(method, url, setting as FastifyListRoute)
  return requirementOf(method, url, setting as FastifyRouteAuthorization)
}

/** Records (or updates, once its settings are compiled) one registered route. */
export function recordRoute(app: FastifyInstance, route: RouteOptions, unconfigured: Unconfigured): void {
  const methods = (Array.isArray(route.method) ? route.method : [route.method]).filter((m) => m !== 'HEAD')
  let registry = registries.get(app.server)
  if (registry === undefined) registries.set(app.server, (registry = new Map<string, RouteRequirement>()))
  const setting = route.config?.meshguard
  for (const method of methods) registry.set(`${method} ${route.url}`, requirementFor(method, route.url, setting, unconfigured))
}

/** The routes recorded for `app`, in registration order. */
export function recordedRoutes(app: FastifyInstance): RouteRequirement[] {
  return [...(registries.get(app.server)?.values() ?? [])]
}
