/** The Nest guard and the interceptor that runs handlers as the verified caller. */
import { attachRequestGrant, type Guard, type GuardOutcome } from '@meshguard/core'
import {
  Inject,
  Injectable,
  type CallHandler,
  type CanActivate,
  type ExecutionContext,
  type NestInterceptor,
} from '@nestjs/common'
import { Reflector } from '@nestjs/core'
import type { Observable } from 'rxjs'
import { MeshguardProblemException } from './exception.js'
import { viewOf } from './request-view.js'
import { AUTHORIZE_METADATA, MESHGUARD_OPTIONS, PUBLIC_METADATA } from './tokens.js'
import type { MeshguardModuleOptions, NestHttpRequest, NestRouteAuthorization } from './types.js'

/**
 * Checks every request it guards: `@Public()` passes, `@Authorize()` runs the full pipeline, anything
 * else needs a verified caller. Refusals become `MeshguardProblemException` (problem+json).
 */
@Injectable()
export class MeshguardGuard implements CanActivate {
  private readonly reflector: Reflector
  private readonly options: MeshguardModuleOptions

  constructor(@Inject(Reflector) reflector: Reflector, @Inject(MESHGUARD_OPTIONS) options: MeshguardModuleOptions) {
    this.reflector = reflector
    this.options = options
  }

  canActivate(context: ExecutionContext): boolean | Promise<boolean> {
    // Only HTTP is supported; anything else is refused rather than let through.
    if (context.getType() !== 'http') return false
    const targets = [context.getHandler(), context.getClass()]
    if (this.reflector.getAllAndOverride<boolean | undefined>(PUBLIC_METADATA, targets) === true) return true
    const route = this.reflector.getAllAndOverride<NestRouteAuthorization | undefined>(AUTHORIZE_METADATA, targets)
    const { guard, unconfigured = {} } = this.options
    if (route === undefined && unconfigured === 'public') return true
    const authenticateOptions = unconfigured === 'public' ? {} : unconfigured
    const http = context.switchToHttp()
    const request = http.getRequest<NestHttpRequest>()
    let outcome: GuardOutcome | Promise<GuardOutcome>
    try {
      const view = viewOf(request)
      // The synchronous forms answer a warm request without a promise.
      outcome = route === undefined ? guard.authenticateNow(view, authenticateOptions) : guard.authorizeNow(view, route)
    } catch (err) {
      outcome = guard.fail(err)
    }
    const response: unknown = http.getResponse()
    if (!(outcome instanceof Promise)) return admit(request, response, outcome)
    return outcome.then(
      (result) => admit(request, response, result),
      (err: unknown) => admit(request, response, guard.fail(err)),
    )
  }
}

/** Lets the request in as the verified caller, or refuses it with the problem response. */
function admit(request: NestHttpRequest, response: unknown, outcome: GuardOutcome): boolean {
  if (!outcome.ok) throw new MeshguardProblemException(outcome)
  // On Nest's Express platform a property of the request would build a hidden class per request; see attachRequestGrant.
  attachRequestGrant(request, response, { caller: outcome.caller, decision: outcome.decision })
  return true
}

/**
 * Runs the handler inside the caller context (for `@meshguard/client`). Nest binds the handler's async
 * context when `next.handle()` is called, so calling it inside `guard.run` is enough.
 */
@Injectable()
export class MeshguardContextInterceptor implements NestInterceptor {
  private readonly guard: Guard

  constructor(@Inject(MESHGUARD_OPTIONS) options: MeshguardModuleOptions) {
    this.guard = options.guard
  }

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    if (context.getType() !== 'http') return next.handle()
    const grant = context.switchToHttp().getRequest<NestHttpRequest>().meshguard
    if (!grant) return next.handle()
    return this.guard.run(grant.caller, () => next.handle())
  }
}
