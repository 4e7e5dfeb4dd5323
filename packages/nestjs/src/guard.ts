/** The Nest guard and the interceptor that runs handlers as the verified caller. */
import { type AuthenticateOptions, type Guard, type ListRouteAuthorization } from '@meshguard/core'
import {
  attachRequestGrant,
  unconfiguredOptionsOf,
  decideListRequest,
  decideRequest,
  whenDecided,
  UNGUARDED_ROUTE,
  type GuardOutcome,
} from '@meshguard/core/adapter'
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
import { AUTHORIZE_LIST_METADATA, AUTHORIZE_METADATA, MESHGUARD_OPTIONS, PUBLIC_METADATA } from './tokens.js'
import type { MeshguardModuleOptions, NestHttpRequest, NestRouteAuthorization } from './types.js'

/**
 * Checks every request it guards: `@Public()` passes, `@Authorize()` runs the full pipeline, anything
 * else needs a verified caller. Refusals become `MeshguardProblemException` (problem+json).
 */
@Injectable()
export class MeshguardGuard implements CanActivate {
  private readonly reflector: Reflector
  private readonly options: MeshguardModuleOptions
  /** The compiled options of routes without settings (unless they are public or refused). */
  private readonly authenticateOptions: AuthenticateOptions

  constructor(@Inject(Reflector) reflector: Reflector, @Inject(MESHGUARD_OPTIONS) options: MeshguardModuleOptions) {
    this.reflector = reflector
    this.options = options
    // Checked once, when Nest builds the guard: a bad setting stops start-up.
    this.authenticateOptions = unconfiguredOptionsOf(options.unconfigured, 'MeshguardModule.unconfigured')
  }

  /**
   * The handler's `@AuthorizeList()`, or the controller's when the handler has no `@Authorize()` of
   * its own (the handler's decorator wins, whichever of the two it is).
   */
  private listRouteOf(context: ExecutionContext): ListRouteAuthorization | undefined {
    const handler = context.getHandler()
    const own = this.reflector.get<ListRouteAuthorization | undefined>(AUTHORIZE_LIST_METADATA, handler)
    if (own !== undefined || this.reflector.get(AUTHORIZE_METADATA, handler) !== undefined) return own
    return this.reflector.get<ListRouteAuthorization | undefined>(AUTHORIZE_LIST_METADATA, context.getClass())
  }

  canActivate(context: ExecutionContext): boolean | Promise<boolean> {
    // Only HTTP is supported; anything else is refused rather than let through.
    if (context.getType() !== 'http') return false
    const targets = [context.getHandler(), context.getClass()]
    if (this.reflector.getAllAndOverride<boolean | undefined>(PUBLIC_METADATA, targets) === true) return true
    const { guard, unconfigured } = this.options
    const list = this.listRouteOf(context)
    if (list !== undefined) {
      const http = context.switchToHttp()
      const request = http.getRequest<NestHttpRequest>()
      return whenDecided(guard, decideListRequest(guard, viewOf, request, undefined, list), admit, request, http.getResponse<unknown>(), undefined)
    }
    const route = this.reflector.getAllAndOverride<NestRouteAuthorization | undefined>(AUTHORIZE_METADATA, targets)
    if (route === undefined && unconfigured === 'public') return true
    const http = context.switchToHttp()
    const request = http.getRequest<NestHttpRequest>()
    // Without settings: authenticated, or (`'refuse'`) 403 route_unguarded once the caller is verified.
    const effective = route ?? (unconfigured === 'refuse' ? UNGUARDED_ROUTE : undefined)
    // The synchronous forms answer a warm request without a promise.
    const outcome = decideRequest(guard, viewOf, request, undefined, effective, this.authenticateOptions)
    return whenDecided(guard, outcome, admit, request, http.getResponse<unknown>(), undefined)
  }
}

/** Lets the request in as the verified caller, or refuses it with the problem response. */
function admit(outcome: GuardOutcome, request: NestHttpRequest, response: unknown): boolean {
  if (!outcome.ok) throw new MeshguardProblemException(outcome)
  // On Nest's Express platform a property of the request would build a hidden class per request; see attachRequestGrant.
  attachRequestGrant(request, response, outcome)
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
