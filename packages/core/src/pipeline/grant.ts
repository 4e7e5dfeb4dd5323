/**
 * The success outcome adapters attach to the request as `req.meshguard`: the verified caller, the
 * route's decision or plan, and `check()` for more decisions inside the handler. A class, so that
 * `check` is one shared method rather than a closure made per request.
 */
import type { Resource } from '../types.js'
import type { GuardDecision, GuardSuccess, HandlerCheckResult, ListPlan, VerifiedCallerLike } from './types.js'

/** Where a granted request came in, for the records of its handler checks. */
export interface GrantOrigin {
  readonly method: string
  readonly route?: string | undefined
}

/** Runs a handler check for a caller (the guard pipeline's). */
export type HandlerChecker<Caller extends VerifiedCallerLike> = (
  caller: Caller,
  origin: GrantOrigin,
  resources: Resource | readonly Resource[],
  actions: string | readonly string[],
) => Promise<HandlerCheckResult>

/** A request the guard let through. Frozen once built. */
export class Granted<Caller extends VerifiedCallerLike> implements GuardSuccess<Caller> {
  readonly ok = true as const
  readonly caller: Caller
  readonly decision: GuardDecision | null
  readonly plan: ListPlan | undefined
  readonly #checker: HandlerChecker<Caller>
  readonly #origin: GrantOrigin

  constructor(checker: HandlerChecker<Caller>, origin: GrantOrigin, caller: Caller, decision: GuardDecision | null, plan: ListPlan | undefined) {
    this.caller = caller
    this.decision = decision
    this.plan = plan
    this.#checker = checker
    this.#origin = origin
    Object.freeze(this)
  }

  check(resources: Resource | readonly Resource[], actions: string | readonly string[]): Promise<HandlerCheckResult> {
    return this.#checker(this.caller, this.#origin, resources, actions)
  }
}
