/**
 * Route settings checked once, when a route is registered: a mistake in `resource`, `action` or
 * `actor` is a `ConfigError` at start-up, never a 500 on every request.
 */
import { ConfigError } from '../errors.js'
import type { ActorRequirement } from '../identity/verify/types.js'
import { compileClaims } from './claims.js'
import { compileScope } from './scope.js'
import type { AuthenticateOptions, ListRouteAuthorization, RouteAuthorization } from './types.js'

const ACTOR_REQUIREMENTS: readonly ActorRequirement[] = ['required', 'forbidden', 'optional']
const ROUTE_KEYS: ReadonlySet<string> = new Set(['resource', 'action', 'actor', 'scope', 'claims'])

/** Routes already checked (frozen, so they cannot change after the check). */
const compiled = new WeakSet<object>()

function checkActor(actor: unknown, option: string): void {
  if (actor !== undefined && !ACTOR_REQUIREMENTS.includes(actor as ActorRequirement)) {
    throw new ConfigError(option, `must be one of ${ACTOR_REQUIREMENTS.join(', ')}`)
  }
}

/**
 * Checks a route's settings and returns them frozen. The guard accepts the result on every request
 * without looking again; adapters call it when a route is registered.
 *
 * @param at - where the route was declared, for the error (e.g. `GET /reviews/:id`)
 * @throws ConfigError naming the bad setting
 */
export function compileRoute<Req>(route: RouteAuthorization<Req>, at = 'route'): RouteAuthorization<Req> {
  if (typeof route === 'object' && (route as unknown) !== null && compiled.has(route)) return route
  if (typeof route !== 'object' || (route as unknown) === null) throw new ConfigError(at, 'must be { resource, action, actor? }')
  for (const key of Object.keys(route)) {
    // A misspelt setting (`actors`) would otherwise be ignored without a word.
    if (!ROUTE_KEYS.has(key)) throw new ConfigError(`${at}.${key}`, 'is not a route setting (resource, action, actor, scope, claims)')
  }
  const { resource, action, actor } = route
  if (!(typeof resource === 'function' || (typeof resource === 'string' && resource !== ''))) {
    throw new ConfigError(`${at}.resource`, 'must be a resource kind or a function returning the resource')
  }
  if (!(typeof action === 'function' || (typeof action === 'string' && action !== ''))) {
    throw new ConfigError(`${at}.action`, 'must be an action name or a function of the request')
  }
  checkActor(actor, `${at}.actor`)
  const scope = compileScope(route.scope, `${at}.scope`)
  const claims = compileClaims(route.claims, `${at}.claims`)
  // Scope and claims are kept in their checked form, so a frozen route naming either is rebuilt too.
  const frozen = Object.isFrozen(route) && route.scope === undefined && route.claims === undefined ? route : Object.freeze({ resource, action, actor, scope, claims })
  compiled.add(frozen)
  return frozen
}

const LIST_ROUTE_KEYS: ReadonlySet<string> = new Set(['resource', 'action', 'actor', 'emptyForRoles', 'scope', 'claims'])

/** List routes already checked. */
const compiledLists = new WeakSet<object>()

/**
 * Checks a list route's settings and returns them frozen (adapters call it when the route is
 * registered; the guard accepts the result without looking again).
 *
 * @param at - where the route was declared, for the error
 * @throws ConfigError naming the bad setting
 */
export function compileListRoute(route: ListRouteAuthorization, at = 'list route'): ListRouteAuthorization {
  if (typeof route === 'object' && (route as unknown) !== null && compiledLists.has(route)) return route
  if (typeof route !== 'object' || (route as unknown) === null) throw new ConfigError(at, 'must be { resource, action, actor?, emptyForRoles? }')
  for (const key of Object.keys(route)) {
    if (!LIST_ROUTE_KEYS.has(key)) throw new ConfigError(`${at}.${key}`, 'is not a list route setting (resource, action, actor, emptyForRoles, scope, claims)')
  }
  const { resource, action, actor, emptyForRoles } = route
  // A plan is for a kind: a function would have no single resource to return.
  if (typeof resource !== 'string' || resource === '') throw new ConfigError(`${at}.resource`, 'must be a resource kind')
  if (typeof action !== 'string' || action === '') throw new ConfigError(`${at}.action`, 'must be an action name')
  checkActor(actor, `${at}.actor`)
  const roles: unknown = emptyForRoles // a JavaScript caller's: checked before use
  if (roles !== undefined && !(Array.isArray(roles) && roles.every((r) => typeof r === 'string' && r !== ''))) {
    throw new ConfigError(`${at}.emptyForRoles`, 'must be a list of role names')
  }
  const scope = compileScope(route.scope, `${at}.scope`)
  const claims = compileClaims(route.claims, `${at}.claims`)
  const frozen = Object.freeze({ resource, action, actor, emptyForRoles: emptyForRoles === undefined ? undefined : Object.freeze([...emptyForRoles]), scope, claims })
  compiledLists.add(frozen)
  return frozen
}

/** Authentication options {@link checkAuthenticateOptions} made: per request they are used as they are. */
const compiledAuthenticateOptions = new WeakSet<object>()
const NO_AUTHENTICATE_OPTIONS: AuthenticateOptions = Object.freeze({})
compiledAuthenticateOptions.add(NO_AUTHENTICATE_OPTIONS)

/**
 * Checks the options of an authentication-only route (or of unconfigured routes), once, where they
 * are registered. Options it returned come back unchanged.
 *
 * @returns the options to pass on every request: frozen, with `scope` and `claims` compiled
 * @throws ConfigError naming the bad setting
 */
export function checkAuthenticateOptions(options: AuthenticateOptions | undefined, at = 'authenticate'): AuthenticateOptions {
  if (options === undefined) return NO_AUTHENTICATE_OPTIONS
  if (typeof options !== 'object' || (options as unknown) === null) throw new ConfigError(at, 'must be { actor?, scope?, claims? }')
  if (compiledAuthenticateOptions.has(options)) return options
  checkActor(options.actor, `${at}.actor`)
  const scope = compileScope(options.scope, `${at}.scope`)
  const claims = compileClaims(options.claims, `${at}.claims`)
  const frozen: AuthenticateOptions = Object.freeze({ actor: options.actor, scope, claims })
  compiledAuthenticateOptions.add(frozen)
  return frozen
}

/**
 * The options of routes without settings, from an adapter's `unconfigured` setting: none for
 * `'public'` and `'refuse'` (those routes are let through or refused elsewhere), else checked as
 * {@link checkAuthenticateOptions} does.
 *
 * @throws ConfigError naming the bad setting under `at`
 */
export function unconfiguredOptionsOf(unconfigured: AuthenticateOptions | 'public' | 'refuse' | undefined, at: string): AuthenticateOptions {
  return unconfigured === 'public' || unconfigured === 'refuse' ? NO_AUTHENTICATE_OPTIONS : checkAuthenticateOptions(unconfigured, at)
}
