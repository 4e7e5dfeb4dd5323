/**
 * Route coverage for Express: each meshguard middleware carries a marker saying what it guards, so
 * the app's router can be read back as a route table (`@meshguard/express/testing`) and routes
 * with no marker can be refused (`refuseUnguardedRoutes` in middleware.ts).
 */
import type { ListRouteAuthorization, RouteAuthorization } from '@meshguard/core'
import { requirementOf, type RouteRequirement } from '@meshguard/core/adapter'
import type { Express, RequestHandler, Router } from 'express'

/** Registered, so two copies of the adapter in one process read each other's markers. */
const ROUTE_MARKER = Symbol.for('meshguard.express.route')

/** What a meshguard middleware guards. */
export type RouteMarker =
  | { readonly kind: 'authorize'; readonly route: RouteAuthorization<never> }
  | { readonly kind: 'list'; readonly route: ListRouteAuthorization }
  | { readonly kind: 'authenticated' }
  | { readonly kind: 'public' }
  | { readonly kind: 'refused' }

/** Marks `handler` and returns it. */
export function marked<H extends RequestHandler>(handler: H, marker: RouteMarker): H {
  Object.defineProperty(handler, ROUTE_MARKER, { value: marker })
  return handler
}

const markerOf = (handle: unknown): RouteMarker | undefined =>
  typeof handle === 'function' ? ((handle as unknown as Record<symbol, RouteMarker | undefined>)[ROUTE_MARKER]) : undefined

/** The parts of Express's router objects read here (Express 4 and 5 alike). */
interface RouteLike {
  path: unknown
  methods: Record<string, boolean | undefined>
  stack: Array<{ handle: unknown; method?: string | undefined }>
  all(handler: RequestHandler): unknown
}
interface LayerLike {
  route?: RouteLike | undefined
  handle: unknown
  /** Express 5: the mount path. */
  rawPath?: unknown
  /** Express 4: the mount path as a regular expression. */
  regexp?: RegExp | undefined
}

/** The router stack of an app or a router (Express 4 keeps the app's as `_router`, Express 5 as `router`). */
function stackOf(target: Express | Router): LayerLike[] {
  const own = target as unknown as { stack?: unknown; _router?: { stack?: unknown } }
  if (Array.isArray(own.stack)) return own.stack as LayerLike[]
  if (own._router !== undefined) return (own._router.stack as LayerLike[] | undefined) ?? []
  try {
    // Express 4 throws on `app.router` (removed API); by then `_router` was checked.
    return ((target as unknown as { router?: { stack?: LayerLike[] } }).router?.stack) ?? []
  } catch {
    return []
  }
}

/** A mounted router's path: Express 5 keeps it, Express 4 only as `^\/api\/?(?=\/|$)`. */
function mountPathOf(layer: LayerLike): string {
  if (typeof layer.rawPath === 'string') return layer.rawPath === '/' ? '' : layer.rawPath
  const source = layer.regexp?.source
  if (source === undefined) return ''
  const path = source.replace(/^\^/, '').replace(/\\\/\?\(\?=\\\/\|\$\)$/i, '').replace(/\\\//g, '/')
  return path === '/' || path === '' ? '' : path
}

/** One route of the app, with what guards it. */
export interface FoundRoute {
  readonly method: string
  readonly path: string
  readonly route: RouteLike
  /** The first meshguard middleware on the route, if any. */
  readonly marker: RouteMarker | undefined
  /** Whether an app-level `authenticate()` runs before the route. */
  readonly authenticated: boolean
}

/** Every route of `app` (and of routers mounted on it), in registration order. */
export function findRoutes(app: Express | Router): FoundRoute[] {
  const found: FoundRoute[] = []
  const walk = (stack: readonly LayerLike[], prefix: string, authenticated: boolean): void => {
    let covered = authenticated
    for (const layer of stack) {
      const own = markerOf(layer.handle)
      if (own?.kind === 'authenticated') covered = true
      if (layer.route !== undefined) {
        const { route } = layer
        const methods = Object.keys(route.methods).filter((m) => route.methods[m] === true)
        const method = methods.includes('_all') ? 'ALL' : methods.map((m) => m.toUpperCase()).join(',')
        let marker: RouteMarker | undefined
        for (const entry of route.stack) marker ??= markerOf(entry.handle)
        found.push({ method, path: `${prefix}${String(route.path)}`, route, marker, authenticated: covered })
        continue
      }
      const nested = (layer.handle as { stack?: unknown } | undefined)?.stack
      if (Array.isArray(nested)) walk(nested as LayerLike[], `${prefix}${mountPathOf(layer)}`, covered)
    }
  }
  walk(stackOf(app), '', false)
  return found
}

/** What one found route requires. */
export function requirementOfRoute(found: FoundRoute): RouteRequirement {
  const { method, path, marker } = found
  if (marker?.kind === 'authorize') return requirementOf(method, path, marker.route)
  if (marker?.kind === 'list') return requirementOf(method, path, { list: marker.route })
  if (marker?.kind === 'public' || marker?.kind === 'refused') return { method, path, guard: marker.kind }
  return { method, path, guard: found.authenticated || marker?.kind === 'authenticated' ? 'authenticated' : 'unguarded' }
}

/**
 * A marker for a route that is public on purpose: it does nothing but lets
 * `refuseUnguardedRoutes` and the testing helpers know the route was not forgotten.
 *
 * @example
 * ```ts
 * app.get('/health', publicRoute(), (_req, res) => res.send('ok'))
 * ```
 */
export function publicRoute(): RequestHandler {
  return marked(function meshguardPublic(_req, _res, next) {
    next()
  }, { kind: 'public' })
}

/**
 * Puts `refuser` first on every route of `app` with no meshguard marker (or only an app-level
 * `authenticate()`), and marks those routes refused.
 */
export function refuseRoutes(app: Express | Router, refuser: RequestHandler): RouteRequirement[] {
  const refused: RouteRequirement[] = []
  for (const found of findRoutes(app)) {
    if (found.marker !== undefined && found.marker.kind !== 'authenticated') continue
    const { route } = found
    // `route.all` would also make the route answer every method: keep the methods it had.
    const all = route.methods['_all']
    route.all(refuser)
    route.methods['_all'] = all
    const layer = route.stack.pop()
    if (layer !== undefined) route.stack.unshift(layer)
    refused.push({ method: found.method, path: found.path, guard: 'refused' })
  }
  return refused
}
