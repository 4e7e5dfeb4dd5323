/** `@Authorize()`, `@Public()` and the `@Caller()` parameter decorator. */
import { compileRoute, type ActionResolver, type ResourceResolver, type RouteAuthorization } from '@meshguard/core'
import { SetMetadata, createParamDecorator, type ExecutionContext } from '@nestjs/common'
import { AUTHORIZE_METADATA, PUBLIC_METADATA } from './tokens.js'
import type { NestHttpRequest, NestRouteAuthorization } from './types.js'

/** Extra settings of `@Authorize()`. */
export interface AuthorizeOptions {
  /** Whether the end user must, must not, or may accompany the workload token. */
  actor?: RouteAuthorization['actor']
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
  const route: NestRouteAuthorization = compileRoute({ resource, action, actor: options.actor }, '@Authorize()')
  return SetMetadata(AUTHORIZE_METADATA, route)
}

/** Marks a handler or controller as public: no credentials needed. */
export function Public(): MethodDecorator & ClassDecorator {
  return SetMetadata(PUBLIC_METADATA, true)
}

/** What `@Caller()` injects. */
export type CallerPart = 'principal' | 'caller' | 'decision'

/**
 * Injects the verified principal (default), the whole verified caller, or the decision. `undefined`
 * on public routes.
 */
export const Caller = createParamDecorator((part: CallerPart | undefined, context: ExecutionContext): unknown => {
  const grant = context.switchToHttp().getRequest<NestHttpRequest>().meshguard
  if (!grant) return undefined
  if (part === 'caller') return grant.caller
  if (part === 'decision') return grant.decision
  return grant.caller.principal
})
