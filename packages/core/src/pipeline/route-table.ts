/**
 * Route coverage: what each route of an app requires (for the adapters' testing helpers and the
 * route table), and the route setting adapters use to refuse a route that has none.
 */
import { ConfigError, DeniedError } from '../errors.js'
import type { ActorRequirement } from '../identity/verify/types.js'
import { compileRoute } from './route.js'
import type { ClaimRequirement, ClaimsRequirement, ClaimValue, ListRouteAuthorization, RouteAuthorization } from './types.js'

/**
 * How a route is guarded: a policy check (`authorize`), a query plan (`list`), a verified caller
 * only (`authenticated`), nothing on purpose (`public`), refused because it has no setting
 * (`refused`), or nothing at all (`unguarded`).
 */
export type RouteGuardKind = 'authorize' | 'list' | 'authenticated' | 'public' | 'refused' | 'unguarded'

/** One route of an app and what it requires. */
export interface RouteRequirement {
  /** HTTP method, upper case (`ALL` for every method). */
  readonly method: string
  /** The route pattern as the framework declares it. */
  readonly path: string
  readonly guard: RouteGuardKind
  /** The resource kind, or `(resolver)` when a function computes the resource. */
  readonly resource?: string | undefined
  /** The action, or `(resolver)` when a function computes it. */
  readonly action?: string | undefined
  /** The actor requirement, `default` when the route leaves it to the guard's `defaultActor`. */
  readonly actor?: ActorRequirement | 'default' | undefined
  /** On list routes: the roles for which an always-denied plan is an empty list. */
  readonly emptyForRoles?: readonly string[] | undefined
  /** The scopes the route requires, when it names any. */
  readonly scope?: readonly string[] | undefined
  /** The route's claim requirements, when it has any. */
  readonly claims?: ClaimsRequirement | undefined
}

/**
 * The route setting for a route without one, in refusing mode: the caller is verified as usual
 * (401 on bad credentials), then the request is refused with 403 `route_unguarded`, audited and
 * traced like any denial. The handler never runs.
 */
export const UNGUARDED_ROUTE: RouteAuthorization = compileRoute(
  {
    action: 'route_unguarded',
    resource: () => {
      throw new DeniedError('the route has no authorization setting and the app refuses such routes', { reason: 'route_unguarded' })
    },
  },
  'unguarded route',
)

const nameOf = (value: string | ((...args: never[]) => unknown)): string => (typeof value === 'string' ? value : '(resolver)')

/** The requirement of a route with a policy check or a plan. */
export function requirementOf(method: string, path: string, setting: RouteAuthorization<never> | { list: ListRouteAuthorization }): RouteRequirement {
  if ('list' in setting) {
    const { resource, action, actor, emptyForRoles } = setting.list
    return { method, path, guard: 'list', resource, action, actor: actor ?? 'default', emptyForRoles, ...requiresOf(setting.list) }
  }
  return { method, path, guard: 'authorize', resource: nameOf(setting.resource), action: nameOf(setting.action), actor: setting.actor ?? 'default', ...requiresOf(setting) }
}

/** The scope and claims members of a requirement, only when the route names them (tables stay as they were otherwise). */
function requiresOf(route: { scope?: string | readonly string[] | undefined; claims?: ClaimsRequirement | undefined }): Pick<RouteRequirement, 'scope' | 'claims'> {
  const scope = route.scope === undefined ? undefined : typeof route.scope === 'string' ? [route.scope] : route.scope
  return { ...(scope === undefined ? {} : { scope }), ...(route.claims === undefined ? {} : { claims: route.claims }) }
}

/** One claim requirement in a table cell: `acr=x`, `tenant=a|b`, `amr⊇mfa`, `auth_time≤300s`. */
function claimCell(name: string, requirement: ClaimRequirement): string {
  if (Array.isArray(requirement)) return `${name}=${requirement.join('|')}`
  if (typeof requirement === 'object' && (requirement as unknown) !== null) {
    if ('maxAge' in requirement) return `${name}≤${requirement.maxAge}s`
    // Array.isArray above does not narrow readonly arrays away, so name the member this is.
    const { includes } = requirement as { readonly includes: ClaimValue | readonly ClaimValue[] }
    return `${name}⊇${[includes].flat().join('+')}`
  }
  return `${name}=${requirement as ClaimValue}` // validated: what is left is a scalar
}

function claimsCell(claims: ClaimsRequirement | undefined): string {
  return claims === undefined ? '' : Object.keys(claims).map((name) => claimCell(name, claims[name]!)).join(' ')
}

/** Guard kinds that fail {@link assertRoutesGuarded}: nothing decides about the resource. */
const UNCOVERED: ReadonlySet<RouteGuardKind> = new Set(['unguarded', 'authenticated'])

/** The routes as an aligned text table, one route per line, sorted by path then method. */
export function formatRouteTable(routes: readonly RouteRequirement[]): string {
  const rows = [...routes]
    .sort((a, b) => (a.path === b.path ? (a.method < b.method ? -1 : 1) : a.path < b.path ? -1 : 1))
    .map((r) => [r.method, r.path, r.guard, r.resource ?? '', r.action ?? '', r.actor ?? '', r.emptyForRoles?.join(',') ?? '', r.scope?.join(' ') ?? '', claimsCell(r.claims)])
  // The optional columns (list-only roles, scope, claims) appear only when some route uses them.
  const shown = [true, true, true, true, true, true, routes.some((r) => r.emptyForRoles !== undefined), routes.some((r) => r.scope !== undefined), routes.some((r) => r.claims !== undefined)]
  const table = [['METHOD', 'PATH', 'GUARD', 'RESOURCE', 'ACTION', 'ACTOR', 'EMPTY FOR', 'SCOPE', 'CLAIMS'], ...rows].map((row) => row.filter((_, i) => shown[i]))
  const widths = table[0]!.map((_, i) => Math.max(...table.map((row) => row[i]!.length)))
  return `${table.map((row) => row.map((cell, i) => cell.padEnd(widths[i]!)).join('  ').trimEnd()).join('\n')}\n`
}

/**
 * The routes no policy decides about: `unguarded` ones, and those only `authenticated`. These fail
 * {@link assertRoutesGuarded} (and `meshguard routes --fail-unguarded`).
 */
export function unguardedRoutes(routes: readonly RouteRequirement[]): RouteRequirement[] {
  return routes.filter((r) => UNCOVERED.has(r.guard))
}

/**
 * Fails when a route is unguarded or only authenticated (no policy decides about it): the one line
 * a service's own test suite adds to catch a route added without `authorize()` or a public marker.
 *
 * @throws ConfigError (`routes`) naming every such route
 */
export function assertRoutesGuarded(routes: readonly RouteRequirement[]): void {
  const uncovered = unguardedRoutes(routes)
  if (uncovered.length === 0) return
  throw new ConfigError('routes', `${uncovered.length} route(s) without a policy check or a public marker:\n${formatRouteTable(uncovered)}`)
}
