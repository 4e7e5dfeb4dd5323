/** `@Authorize()`, `@Public()` and the `@Caller()` parameter decorator. */
import { type ActionResolver, type ListRouteAuthorization, type ResourceResolver, type RouteAuthorization } from '@meshguard/core'
import { compileListRoute, compileRoute } from '@meshguard/core/adapter'
import { SetMetadata, createParamDecorator, type ExecutionContext } from '@nestjs/common'
import { AUTHORIZE_LIST_METADATA, AUTHORIZE_METADATA, PUBLIC_METADATA } from './tokens.js'
import type { NestHttpRequest, NestRouteAuthorization } from './types.js'

/** Extra settings of `@Authorize()`. */
export interface AuthorizeOptions {
  /** Whether the end user must, must not, or may accompany the workload token. */
  actor?: RouteAuthorization['actor']
  /** Scopes the transaction must hold (`'review.read'`); missing → 403 `insufficient_scope`. */
  scope?: RouteAuthorization['scope']
  /**
   * Requirements on the verified actor's claims (`{ acr: 'urn:example:mfa', amr: { includes: 'mfa' } }`),
   * checked when the decorator runs; unmet → 403 `insufficient_claims`, or 401
   * `insufficient_user_authentication` (RFC 9470) for `acr` / `auth_time`.
   */
  claims?: RouteAuthorization['claims']
}

/**
 * Protects a handler (or every handler of a controller) with a policy check.
 *
 * @param resource - a kind (the id is the `id` route param), or a function / async loader of the resource.
 * @param action - the action, or a function of the request.
 * @example
 * ```ts
 * @Get(':id') @Authorize('review', 'read', { actor: 'required' }) read(@Caller() principal: Principal) {}
 * ```
 */
export function Authorize(
  resource: string | ResourceResolver<NestHttpRequest>,
  action: string | ActionResolver<NestHttpRequest>,
  options: AuthorizeOptions = {},
): MethodDecorator & ClassDecorator {
  // Checked where it is declared: a bad setting fails when the controller is defined, not per request.
  const route: NestRouteAuthorization = compileRoute({ resource, action, actor: options.actor, scope: options.scope, claims: options.claims }, '@Authorize()')
  return SetMetadata(AUTHORIZE_METADATA, route)
}

/** Extra settings of `@AuthorizeList()`. */
export interface AuthorizeListOptions extends AuthorizeOptions {
  /** Principal roles for which an always-denied plan answers an empty list instead of 403. @defaultValue none */
  emptyForRoles?: ListRouteAuthorization['emptyForRoles']
}

/**
 * Protects a list handler: the caller is verified as for `@Authorize()`, then the engine plans which
 * resources of `resource` the verified principal may `action`; the handler reads the plan with
 * `@Caller('plan')` (or `req.meshguard.plan`). An always-denied plan is a 403 unless `emptyForRoles`
 * match.
 *
 * @example
 * ```ts
 * @Get() @AuthorizeList('review', 'read', { actor: 'required' }) list(@Caller('plan') plan: ListPlan) {}
 * ```
 */
export function AuthorizeList(resource: string, action: string, options: AuthorizeListOptions = {}): MethodDecorator & ClassDecorator {
  const route = compileListRoute({ resource, action, actor: options.actor, emptyForRoles: options.emptyForRoles, scope: options.scope, claims: options.claims }, '@AuthorizeList()')
  return SetMetadata(AUTHORIZE_LIST_METADATA, route)
}

/** Marks a handler or controller as public: no credentials needed. */
export function Public(): MethodDecorator & ClassDecorator {
  return SetMetadata(PUBLIC_METADATA, true)
}

/** What `@Caller()` injects. */
export type CallerPart = 'principal' | 'caller' | 'decision' | 'plan' | 'grant'

/**
 * Injects the verified principal (default), the whole verified caller, the decision, (on
 * `@AuthorizeList()` routes) the query plan, or the whole grant (`grant.check(resources, actions)`
 * asks the policy inside the handler). `undefined` on public routes.
 */
export const Caller = createParamDecorator((part: CallerPart | undefined, context: ExecutionContext): unknown => {
  const grant = context.switchToHttp().getRequest<NestHttpRequest>().meshguard
  if (!grant) return undefined
  if (part === 'caller') return grant.caller
  if (part === 'decision') return grant.decision
  if (part === 'plan') return grant.plan
  if (part === 'grant') return grant
  return grant.caller.principal
})
