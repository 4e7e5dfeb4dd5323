/**
 * The framework-neutral guard: credentials → identity → resource → engine → audit/span → outcome.
 * Adapters only translate requests in and outcomes out; every decision is made here, and every
 * unexpected failure becomes a refusal (fail closed).
 */
import type { AuditLog, AuditOutcome } from '../audit/index.js'
import { callerContext } from '../context/index.js'
import { AuditError, ConfigError, DeniedError, InternalError, PlanUnsupportedError, toMeshguardError, type MeshguardError } from '../errors.js'
import type { PlanResourcesRequest, PlanResourcesResponse } from '../engine/plan/types.js'
import type { VerifiedCaller } from '../identity/caller.js'
import type { ActorRequirement } from '../identity/verify/types.js'
import type { AuthorizationEnd, AuthorizationSpan, Telemetry } from '../telemetry/index.js'
import { isPromise, type MaybePromise } from '../internal/maybe-async.js'
import type { CheckResourcesRequest, CheckResourcesResponse, DecisionEngine, DecisionExplanation, Resource } from '../types.js'
import { checkExplainOptions, withExplanation } from './explain-settings.js'
import { checkShadowOptions, shadowEngineOf, shadowOf, type ShadowEngine } from './shadow.js'
import { failureFor, type ProblemSettings } from './problem.js'
import { auditRecordOf, outcomeOf as auditOutcomeOf, spanEndOf, type RunFacts } from './report.js'
import { resolveAction, resolveResource, UNSPECIFIED_RESOURCE_ID } from './resolve.js'
import { checkAuthenticateOptions, compileListRoute, compileRoute } from './route.js'
import { listPlanOf } from './list-plan.js'
import { Granted, type GrantOrigin, type HandlerChecker } from './grant.js'
import { handlerCheckRequest, handlerCheckResult } from './handler-check.js'
import { checkScope } from './scope.js'
import { EdgeGate, needsExchange } from './edge.js'
import { checkClaims } from './claims.js'
import { isEdgeCaller, type EdgeCaller } from '../identity/verify/edge-caller.js'
import { txnTokenOf } from '../identity/caller.js'
import type {
  AuthenticateOptions,
  CallerContextLike,
  ClaimsRequirement,
  Guard,
  GuardFailure,
  ExplainingEngine,
  GuardOptions,
  GuardOutcome,
  HandlerCheckResult,
  IdentityVerifierLike,
  ListPlan,
  ListRouteAuthorization,
  RequestView,
  RouteAuthorization,
  VerifiedCallerLike,
} from './types.js'
import { newRequestId } from '../internal/request-id.js'

const ACTOR_REQUIREMENTS: readonly ActorRequirement[] = ['required', 'forbidden', 'optional']

const DEFAULT_PROBLEM_TYPE_BASE = 'urn:meshguard:problem:'

/** Span name placeholder until a resolver tells the kind. */
const UNRESOLVED_KIND = 'unknown'

/**
 * Core's caller context for verified callers. A caller without a verified workload (a test double, a
 * custom verifier) has nothing to forward, so its handler runs without a context.
 */
const DEFAULT_CONTEXT: CallerContextLike<VerifiedCallerLike> = {
  run: (caller, fn) => {
    if (isVerifiedCaller(caller)) return callerContext.run(caller, fn)
    // An edge caller forwards the Txn-Token it obtained, never the access token it came with.
    const txnToken = txnTokenOf(caller as VerifiedCaller)
    return txnToken === undefined ? fn() : callerContext.runWithTxnToken(txnToken, fn)
  },
}

/** The edge's context in access-token mode: the verified access token travels as the actor. */
function accessTokenForwarding(edge: EdgeGate): CallerContextLike<VerifiedCallerLike> {
  return {
    run: (caller, fn) => {
      const actor = edge.forwardedActorOf(caller)
      return actor === undefined ? DEFAULT_CONTEXT.run(caller, fn) : callerContext.runWithActor(actor, fn, { transactionId: caller.transactionId })
    },
  }
}

function isVerifiedCaller(caller: VerifiedCallerLike): caller is VerifiedCaller {
  const workload = (caller as { workload?: { id?: unknown } }).workload
  return typeof workload?.id === 'string'
}

const ignore = (): void => {}

const NO_OUTPUTS: readonly [] = Object.freeze<[]>([])

/** What a span nothing observes is ended with: its decision only (no SDK: the rest would be built for nobody). */
const UNOBSERVED_ENDS: Readonly<Record<AuditOutcome, AuthorizationEnd>> = Object.freeze({
  allowed: Object.freeze({ decision: 'allowed' }),
  denied: Object.freeze({ decision: 'denied' }),
  unauthenticated: Object.freeze({ decision: 'unauthenticated' }),
  error: Object.freeze({ decision: 'error' }),
})

/** For verifiers that do not mark failures with a token kind: reasons about the actor token (or its absence). */
const ACTOR_REASONS: ReadonlySet<string> = new Set(['actor_required', 'actor_forbidden', 'actor_workload_mismatch'])

/** `authz.token.verified` events for the tokens a caller presented (no-ops unless the span records). */
function tokenEventsOf(span: AuthorizationSpan, caller: VerifiedCallerLike): void {
  const { workload, actor } = caller as { workload?: { issuer?: unknown }; actor?: { issuer?: unknown } }
  // An edge caller presented an access token only.
  if (!isEdgeCaller(caller)) span.tokenVerified('workload', typeof workload?.issuer === 'string' ? workload.issuer : undefined)
  if (actor) span.tokenVerified('actor', typeof actor.issuer === 'string' ? actor.issuer : undefined)
}

/** An `authz.token.rejected` event when identity refused the credentials (401). */
function rejectionEventOf(span: AuthorizationSpan, error: MeshguardError): void {
  if (error.httpStatus !== 401) return
  span.tokenRejected(error.tokenKind ?? (ACTOR_REASONS.has(error.reason) ? 'actor' : 'workload'), error.reason)
}

function hasMethod(value: unknown, name: string): boolean {
  return typeof value === 'object' && value !== null && typeof (value as Record<string, unknown>)[name] === 'function'
}

/** Validates options once, at construction, naming the option path. */
function checkOptions<Caller extends VerifiedCallerLike>(options: GuardOptions<Caller>): void {
  if (typeof options !== 'object' || (options as unknown) === null) throw new ConfigError('options', 'must be an object')
  if (!hasMethod(options.engine, 'checkResources')) {
    throw new ConfigError('engine', 'must be a DecisionEngine with checkResources()')
  }
  if (options.edge !== undefined) {
    // One verifier decides who is calling: at the edge it is the edge verifier, never a second one beside it.
    if (options.identity !== undefined) throw new ConfigError('identity', 'must be left out at the edge: the edge option verifies access tokens')
  } else if (!hasMethod(options.identity, 'verify')) throw new ConfigError('identity', 'must be an identity verifier with verify()')
  if (typeof options.service !== 'string' || options.service === '') {
    throw new ConfigError('service', 'must be a non-empty string')
  }
  if (options.defaultActor !== undefined && !ACTOR_REQUIREMENTS.includes(options.defaultActor)) {
    throw new ConfigError('defaultActor', `must be one of ${ACTOR_REQUIREMENTS.join(', ')}`)
  }
  if (options.audit !== undefined && !hasMethod(options.audit, 'record')) throw new ConfigError('audit', 'must be an AuditLog')
  if (options.telemetry !== undefined && !hasMethod(options.telemetry, 'startAuthorization')) {
    throw new ConfigError('telemetry', 'must be a Telemetry')
  }
  if (options.context !== undefined && !hasMethod(options.context, 'run')) throw new ConfigError('context', 'must have run()')
  checkExplainOptions(options.explain)
  checkShadowOptions(options.shadow)
}

/** The engine's explain step, when it has one. */
type ExplainStep = (request: CheckResourcesRequest) => DecisionExplanation

function explainStepOf(engine: DecisionEngine): ExplainStep | undefined {
  const explain = (engine as Partial<ExplainingEngine>).explainSync
  return typeof explain === 'function' ? (request) => explain.call(engine, request).explanation : undefined
}

/** The embedded engine's synchronous entry point, when the engine has one (saves a promise per request). */
type SyncCheck = (request: CheckResourcesRequest) => CheckResourcesResponse

function syncCheckOf(engine: DecisionEngine): SyncCheck | undefined {
  const sync = (engine as { checkResourcesSync?: unknown }).checkResourcesSync
  return typeof sync === 'function' ? (sync.bind(engine) as SyncCheck) : undefined
}

/** The engine's planning entry point: the synchronous one when it has it, else `planResources`, else none. */
type PlanStep = (request: PlanResourcesRequest) => MaybePromise<PlanResourcesResponse>

function planStepOf(engine: DecisionEngine): PlanStep | undefined {
  const sync = (engine as { planResourcesSync?: unknown }).planResourcesSync
  if (typeof sync === 'function') return sync.bind(engine) as PlanStep
  return typeof engine.planResources === 'function' ? engine.planResources.bind(engine) : undefined
}

const PLAN_KINDS: ReadonlySet<string> = new Set(['KIND_ALWAYS_ALLOWED', 'KIND_ALWAYS_DENIED', 'KIND_CONDITIONAL'])

/**
 * Records the engine's plan; anything but a known kind fails closed. An always-denied plan is a
 * denial unless the principal holds one of the route's `emptyForRoles` (then an empty list).
 */
function recordPlan(facts: RunFacts, response: PlanResourcesResponse, route: ListRouteAuthorization): void {
  // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- a remote engine's JSON may lack any part; PLAN_KINDS.has fails closed
  const kind = response?.filter?.kind
  if (!PLAN_KINDS.has(kind)) throw new InternalError('engine returned no plan kind', { reason: 'engine_response_invalid' })
  facts.planKind = kind
  if (kind === 'KIND_ALWAYS_ALLOWED') facts.effect = 'EFFECT_ALLOW'
  if (kind !== 'KIND_ALWAYS_DENIED') return
  const roles = facts.principal?.roles ?? []
  if (route.emptyForRoles?.some((role) => roles.includes(role))) return
  facts.effect = 'EFFECT_DENY'
  throw new DeniedError('denied by policy')
}

/** Records the engine's verdict on one action; anything but a clear effect fails closed, a deny throws. */
function recordVerdict(facts: RunFacts, response: CheckResourcesResponse, action: string): void {
  facts.response = response
  const result = response.results[0]
  const effect = result?.actions[action]
  if (effect !== 'EFFECT_ALLOW' && effect !== 'EFFECT_DENY') {
    throw new InternalError('engine returned no effect for the action', { reason: 'engine_response_invalid' })
  }
  const meta = result?.meta?.actions[action]
  facts.effect = effect
  facts.policy = meta?.matchedPolicy
  facts.scope = meta?.matchedScope
  facts.rule = meta?.matchedRule
  if (effect === 'EFFECT_DENY') throw new DeniedError('denied by policy')
}

/** A verifier's entry point: `verifyNow` when it has one (no promise for cached callers), else `verify`. */
type VerifyStep<Caller> = (view: RequestView, actor: ActorRequirement, callId: string) => MaybePromise<Caller>

function verifyStepOf<Caller extends VerifiedCallerLike>(identity: IdentityVerifierLike<Caller> | undefined, edge: EdgeGate | undefined): VerifyStep<Caller> {
  // A chain that starts here takes this decision's id as its transaction id (one random id fewer to make).
  if (edge !== undefined) return (view, actor, callId) => edge.verify(view, actor, callId) as unknown as Promise<Caller>
  if (identity === undefined) throw new ConfigError('identity', 'must be an identity verifier with verify()')
  if (typeof (identity as { verifyNow?: unknown }).verifyNow === 'function') {
    const verifier = identity as Required<IdentityVerifierLike<Caller>>
    return (view, actor, callId) => verifier.verifyNow(view.headers, { actor, newTransactionId: callId, target: view.target })
  }
  return (view, actor, callId) => identity.verify(view.headers, { actor, newTransactionId: callId, target: view.target })
}

/** Every field written out: the object keeps one shape while the run fills it in. */
function newFacts(view: GrantOrigin, startedAt: number): RunFacts {
  return {
    caller: undefined,
    callId: newRequestId(),
    startedAt,
    method: view.method,
    route: view.route,
    principal: undefined,
    action: undefined,
    resource: undefined,
    request: undefined,
    response: undefined,
    effect: undefined,
    planKind: undefined,
    policy: undefined,
    scope: undefined,
    rule: undefined,
    inHandler: undefined,
    explanation: undefined,
    shadow: undefined,
    error: undefined,
  } satisfies Required<Record<keyof RunFacts, unknown>>
}

/**
 * One guard's request path, step by step: identity, then resource, then the engine, then the report
 * (audit record and span) and the outcome. Each step answers synchronously when it can and hands a
 * promise on otherwise; every failure becomes a refusal.
 */
class GuardPipeline<Caller extends VerifiedCallerLike> {
  readonly service: string
  private readonly engine: DecisionEngine
  private readonly checkSync: SyncCheck | undefined
  private readonly planStep: PlanStep | undefined
  private readonly audit: AuditLog | undefined
  private readonly telemetry: Telemetry | undefined
  readonly context: CallerContextLike<Caller>
  private readonly defaultActor: ActorRequirement
  private readonly onInternalError: (error: unknown) => void
  private readonly clock: () => number
  readonly problemSettings: ProblemSettings
  private readonly verifyCaller: VerifyStep<Caller>
  /** Explains denials, when the engine can and the options ask for it. */
  private readonly explainDenial: ExplainStep | undefined
  private readonly explainInProblem: boolean
  /** The candidate policy set's engine of the moment, when shadowing. */
  private readonly shadowEngine: (() => ShadowEngine | undefined) | undefined
  private readonly edge: EdgeGate | undefined

  constructor(options: GuardOptions<Caller>) {
    this.service = options.service
    this.engine = options.engine
    this.checkSync = syncCheckOf(options.engine)
    this.planStep = planStepOf(options.engine)
    this.audit = options.audit
    this.telemetry = options.telemetry
    this.defaultActor = options.defaultActor ?? 'optional'
    this.onInternalError = options.onInternalError ?? ignore
    this.clock = options.clock ?? Date.now
    const edge = options.edge === undefined ? undefined : new EdgeGate(options.edge, this.clock)
    this.edge = edge
    this.context = options.context ?? (edge?.forwardsAccessTokens === true ? accessTokenForwarding(edge) : DEFAULT_CONTEXT)
    this.problemSettings = Object.freeze({
      typeBase: options.problem?.typeBase ?? DEFAULT_PROBLEM_TYPE_BASE,
      realm: options.service,
      customize: options.problem?.customize,
      onInternalError: this.onInternalError,
      challenge: edge === undefined ? undefined : (error: MeshguardError, realm: string, refusal?: readonly string[]) => edge.challenge(error, realm, refusal),
    })
    this.verifyCaller = verifyStepOf(options.identity, edge)
    const explainAudit = options.explain?.audit ?? true
    this.explainInProblem = options.explain?.problem === true
    this.shadowEngine = options.shadow === undefined ? undefined : shadowEngineOf(options.shadow)
    this.explainDenial = (explainAudit && options.audit !== undefined) || this.explainInProblem ? explainStepOf(options.engine) : undefined
  }

  authorizeNow<Req>(view: RequestView<Req>, given: RouteAuthorization<Req>): MaybePromise<GuardOutcome<Caller>> {
    const facts = newFacts(view, this.clock())
    let span: AuthorizationSpan | undefined
    try {
      // Registered routes were checked once already; one handed in directly is checked now (a bad one fails closed).
      const route = compileRoute(given)
      span = this.startSpan(facts, route)
      this.audit?.assertWritable()
      const caller = this.verifyCaller(view, route.actor ?? this.defaultActor, facts.callId)
      if (!isPromise(caller)) return this.withCaller(facts, span, view, route, caller)
      const started = span
      return caller.then(
        (verified) => this.withCaller(facts, started, view, route, verified),
        (err: unknown) => this.failed(facts, undefined, started, err),
      )
    } catch (err) {
      return this.failed(facts, undefined, span, err)
    }
  }

  /** Checks a list route, and that this guard's engine can plan (a route it cannot serve stops start-up). */
  compileListRoute(route: ListRouteAuthorization, at?: string): ListRouteAuthorization {
    const compiled = compileListRoute(route, at)
    if (!this.planStep) throw new PlanUnsupportedError()
    return compiled
  }

  /** A list route: identity exactly as {@link authorizeNow}, then a plan instead of a check. */
  planNow<Req>(view: RequestView<Req>, given: ListRouteAuthorization): MaybePromise<GuardOutcome<Caller>> {
    const facts = newFacts(view, this.clock())
    let span: AuthorizationSpan | undefined
    try {
      const route = compileListRoute(given)
      facts.action = route.action
      span = this.startListSpan(facts, route)
      this.audit?.assertWritable()
      const caller = this.verifyCaller(view, route.actor ?? this.defaultActor, facts.callId)
      if (!isPromise(caller)) return this.plan(facts, span, view, route, caller)
      const started = span
      return caller.then(
        (verified) => this.plan(facts, started, view, route, verified),
        (err: unknown) => this.failed(facts, undefined, started, err),
      )
    } catch (err) {
      return this.failed(facts, undefined, span, err)
    }
  }

  /**
   * At the edge, the route's purpose is what the access token is exchanged for, before anything else
   * but the claims (a user who must step up is not worth a Txn-Token Service round trip); `next` goes
   * on with the caller holding the Txn-Token.
   */
  private exchangeThen<Req>(
    facts: RunFacts,
    span: AuthorizationSpan | undefined,
    view: RequestView<Req>,
    scope: readonly string[],
    claims: ClaimsRequirement | undefined,
    caller: Caller & EdgeCaller,
    next: (exchanged: Caller) => MaybePromise<GuardOutcome<Caller>>,
  ): Promise<GuardOutcome<Caller>> {
    checkClaims(caller, claims, facts.startedAt)
    return this.edge!.exchange(caller, view as RequestView, scope).then(
      (exchanged) => next(exchanged as unknown as Caller),
      (err: unknown) => this.failed(facts, caller, span, err),
    )
  }

  /** Identity answered: plan for the verified principal (synchronously when the engine can). */
  private plan<Req>(facts: RunFacts, span: AuthorizationSpan | undefined, view: RequestView<Req>, route: ListRouteAuthorization, caller: Caller): MaybePromise<GuardOutcome<Caller>> {
    try {
      const scope = route.scope as readonly string[] | undefined
      if (scope !== undefined && this.edge?.exchanges === true && needsExchange(caller)) {
        // As on a single-resource route, so the handler's inward calls carry only the Txn-Token.
        return this.exchangeThen(facts, span, view, scope, route.claims, caller, (exchanged) => this.plan(facts, span, view, route, exchanged))
      }
      facts.caller = caller
      facts.principal = caller.principal
      if (span) tokenEventsOf(span, caller)
      facts.resource = { kind: route.resource, id: UNSPECIFIED_RESOURCE_ID }
      checkClaims(caller, route.claims, facts.startedAt)
      checkScope(caller, scope)
      // Fail closed: an engine that cannot plan must never let a list through unfiltered.
      if (!this.planStep) throw new PlanUnsupportedError()
      const request: PlanResourcesRequest = {
        requestId: facts.callId,
        principal: caller.principal,
        resource: { kind: route.resource },
        actions: [route.action],
        includeMeta: true,
      }
      const planned = this.planStep(request)
      if (!isPromise(planned)) return this.planOutcome(facts, caller, span, route, planned)
      return planned.then(
        (response) => this.planOutcome(facts, caller, span, route, response),
        (err: unknown) => this.failed(facts, caller, span, err),
      )
    } catch (err) {
      return this.failed(facts, caller, span, err)
    }
  }

  /** The engine planned: report once, then hand the plan on (or refuse). */
  private planOutcome(
    facts: RunFacts,
    caller: Caller,
    span: AuthorizationSpan | undefined,
    route: ListRouteAuthorization,
    response: PlanResourcesResponse,
  ): GuardOutcome<Caller> {
    try {
      recordPlan(facts, response, route)
    } catch (err) {
      facts.error = toMeshguardError(err)
    }
    const outcome = this.outcomeOf(facts, caller, span, true)
    if (!outcome.ok) return outcome
    const plan: ListPlan = listPlanOf(facts.callId, route.resource, route.action, response)
    return new Granted(this.checkInHandler, facts, caller, null, plan)
  }

  authenticateNow<Req>(view: RequestView<Req>, opts: AuthenticateOptions = {}): MaybePromise<GuardOutcome<Caller>> {
    const facts = newFacts(view, this.clock())
    // Only failures are audited here: a verified caller is not a decision; the route's own check is.
    const refused = (err: unknown): GuardOutcome<Caller> => {
      facts.error = toMeshguardError(err)
      return this.outcomeOf(facts, undefined, undefined, true)
    }
    // Adapters pass options compiled at registration; others are checked here (a bad one is a 500).
    let options: AuthenticateOptions
    try {
      options = checkAuthenticateOptions(opts)
    } catch (err) {
      return refused(err)
    }
    const scope = options.scope as readonly string[] | undefined
    const edge = this.edge
    const verified = (caller: Caller): MaybePromise<GuardOutcome<Caller>> => {
      facts.caller = caller
      facts.principal = caller.principal
      try {
        // Claims first, as on a route: a user who must step up is not worth a Txn-Token Service round trip.
        checkClaims(caller, options.claims, facts.startedAt)
      } catch (err) {
        return refused(err)
      }
      if (edge?.exchanges === true && scope !== undefined && needsExchange(caller)) {
        return edge.exchange(caller, view as RequestView, scope).then((exchanged) => authenticated(exchanged as unknown as Caller), refused)
      }
      return authenticated(caller)
    }
    const authenticated = (caller: Caller): GuardOutcome<Caller> => {
      facts.caller = caller
      facts.principal = caller.principal
      try {
        checkScope(caller, scope)
      } catch (err) {
        return refused(err)
      }
      return this.outcomeOf(facts, caller, undefined, false)
    }
    try {
      this.audit?.assertWritable()
      const caller = this.verifyCaller(view, options.actor ?? this.defaultActor, facts.callId)
      return isPromise(caller) ? caller.then(verified, refused) : verified(caller)
    } catch (err) {
      return refused(err)
    }
  }

  /** Identity answered: resolve the action and resource. */
  private withCaller<Req>(
    facts: RunFacts,
    span: AuthorizationSpan | undefined,
    view: RequestView<Req>,
    route: RouteAuthorization<Req>,
    caller: Caller,
  ): MaybePromise<GuardOutcome<Caller>> {
    try {
      const scope = route.scope as readonly string[] | undefined
      if (scope !== undefined && this.edge?.exchanges === true && needsExchange(caller)) {
        return this.exchangeThen(facts, span, view, scope, route.claims, caller, (exchanged) => this.withCaller(facts, span, view, route, exchanged))
      }
      facts.caller = caller
      facts.principal = caller.principal
      if (span) tokenEventsOf(span, caller)
      // Claims, then scope: both before resolvers or the engine see the request.
      if (route.claims !== undefined) checkClaims(caller, route.claims, facts.startedAt)
      // The transaction's purpose first: a route it was not issued for never reaches resolvers or the engine.
      checkScope(caller, route.scope as readonly string[] | undefined)
      const action = resolveAction(view, route)
      facts.action = action
      const resource = resolveResource(view, route)
      if (!isPromise(resource)) return this.decide(facts, span, route, caller, action, resource)
      return resource.then(
        (loaded) => this.decide(facts, span, route, caller, action, loaded),
        (err: unknown) => this.failed(facts, caller, span, err),
      )
    } catch (err) {
      return this.failed(facts, caller, span, err)
    }
  }

  /** Resource known: ask the engine (synchronously when it can) and turn its answer into the outcome. */
  private decide<Req>(
    facts: RunFacts,
    span: AuthorizationSpan | undefined,
    route: RouteAuthorization<Req>,
    caller: Caller,
    action: string,
    resource: Resource,
  ): MaybePromise<GuardOutcome<Caller>> {
    try {
      facts.resource = resource
      // Renaming a span that records nothing would only build a string.
      if (span && typeof route.resource !== 'string' && span.span.isRecording()) span.span.updateName(`authorize ${resource.kind}`)
      const request: CheckResourcesRequest = {
        requestId: facts.callId,
        principal: caller.principal,
        resources: [{ resource, actions: [action] }],
        includeMeta: true,
      }
      facts.request = request
      if (this.checkSync) return this.verdictOf(facts, caller, span, this.checkSync(request), action)
      return this.engine.checkResources(request).then(
        (response) => this.verdictOf(facts, caller, span, response, action),
        (err: unknown) => this.failed(facts, caller, span, err),
      )
    } catch (err) {
      return this.failed(facts, caller, span, err)
    }
  }

  /** The engine answered: a clear allow is the outcome, anything else fails closed. */
  private verdictOf(facts: RunFacts, caller: Caller, span: AuthorizationSpan | undefined, response: CheckResourcesResponse, action: string): GuardOutcome<Caller> {
    try {
      recordVerdict(facts, response, action)
    } catch (err) {
      facts.error = toMeshguardError(err)
    }
    return this.outcomeOf(facts, caller, span, true)
  }

  /** A run that failed: fail closed with the error's status. */
  private failed(facts: RunFacts, caller: Caller | undefined, span: AuthorizationSpan | undefined, err: unknown): GuardOutcome<Caller> {
    facts.error = toMeshguardError(err)
    if (span && caller === undefined) rejectionEventOf(span, facts.error)
    return this.outcomeOf(facts, caller, span, true)
  }

  private outcomeOf(facts: RunFacts, caller: Caller | undefined, span: AuthorizationSpan | undefined, audited: boolean): GuardOutcome<Caller> {
    const auditFailure = this.report(facts, span, audited)
    const failure = facts.error ?? auditFailure
    if (failure !== undefined) {
      const refusal = failureFor(failure, facts.callId, this.problemSettings)
      return this.explainInProblem && facts.explanation !== undefined && failure === facts.error ? withExplanation(refusal, facts.explanation) : refusal
    }
    if (caller === undefined) return failureFor(new InternalError('no verified caller'), facts.callId, this.problemSettings)
    const decision = facts.effect === 'EFFECT_ALLOW' && facts.action !== undefined && facts.resource !== undefined
      ? Object.freeze({
          id: facts.callId,
          allowed: true as const,
          effect: facts.effect,
          action: facts.action,
          resource: facts.resource,
          policy: facts.policy,
          rule: facts.rule,
          outputs: facts.response?.results[0]?.outputs ?? NO_OUTPUTS,
        })
      : null
    return new Granted(this.checkInHandler, facts, caller, decision, undefined)
  }

  /**
   * A check made inside a handler for a verified caller: one engine call for every action on every
   * resource, one audit record and one span, exactly as a route check. A denial is an answer; only
   * a check that could not be made rejects.
   */
  readonly checkInHandler: HandlerChecker<Caller> = async (caller, origin, resources, actions) => {
    const facts = newFacts(origin, this.clock())
    facts.inHandler = true
    facts.caller = caller
    facts.principal = caller.principal
    let span: AuthorizationSpan | undefined
    let result: HandlerCheckResult | undefined
    try {
      const request = handlerCheckRequest(facts.callId, caller.principal, resources, actions)
      const first = request.resources[0]!
      facts.resource = first.resource
      facts.action = first.actions[0]
      span = this.startSpan(facts, { resource: first.resource.kind, action: first.actions.length === 1 ? first.actions[0]! : 'batch' })
      this.audit?.assertWritable()
      facts.request = request
      const response = this.checkSync ? this.checkSync(request) : await this.engine.checkResources(request)
      facts.response = response
      const answered = handlerCheckResult(facts.callId, request, response)
      result = answered.result
      // The record names the first denied (resource, action), else the first asked.
      const primary = request.resources[answered.primary.index]!
      const meta = response.results[answered.primary.index]?.meta?.actions[answered.primary.action]
      facts.resource = primary.resource
      facts.action = answered.primary.action
      facts.effect = answered.primary.effect
      facts.policy = meta?.matchedPolicy
      facts.scope = meta?.matchedScope
      facts.rule = meta?.matchedRule
      if (!result.allowed) facts.error = new DeniedError('denied by policy')
    } catch (err) {
      facts.error = toMeshguardError(err)
      result = undefined
    }
    const auditFailure = this.report(facts, span, true)
    if (result === undefined) throw facts.error ?? new InternalError('handler check failed')
    if (auditFailure !== undefined) throw auditFailure
    return result
  }

  /** Ends the span and writes the audit record. Returns an audit failure when the log must fail closed. */
  private report(facts: RunFacts, span: AuthorizationSpan | undefined, audited: boolean): AuditError | undefined {
    const { audit, onInternalError } = this
    let failure: AuditError | undefined
    if (this.shadowEngine !== undefined && facts.request !== undefined && facts.response !== undefined) this.shadow(facts, this.shadowEngine)
    if (this.explainDenial !== undefined && facts.request !== undefined && facts.error?.code === 'ERR_AUTHZ_DENIED') {
      // Apart from the decision, after it: an explanation that fails is reported and left out.
      try {
        facts.explanation = this.explainDenial(facts.request)
      } catch (err) {
        onInternalError(err)
      }
    }
    if (audit && audited) {
      try {
        const accepted = audit.record(auditRecordOf(facts, this.service, this.engine, span?.traceId))
        if (!accepted && audit.failClosed && !facts.error) failure = new AuditError('audit record was dropped')
      } catch (err) {
        onInternalError(err)
        if (audit.failClosed && !facts.error) failure = new AuditError('audit record could not be written', { cause: err })
      }
    }
    if (span) {
      try {
        const ended = failure ? { ...facts, error: failure } : facts
        span.end(span.observed === false ? UNOBSERVED_ENDS[auditOutcomeOf(ended)] : spanEndOf(ended, this.engine))
      } catch (err) {
        onInternalError(err)
      }
    }
    return failure
  }

  /** Decides the request again on the candidate set; records disagreements. Never throws. */
  private shadow(facts: RunFacts, current: () => ShadowEngine | undefined): void {
    try {
      const engine = current()
      if (engine === undefined) return
      const found = shadowOf(engine, facts.request!, facts.response!)
      if (found === undefined) return
      facts.shadow = found.shadow
      // eslint-disable-next-line @typescript-eslint/unbound-method -- called as record.call(this.telemetry) below
      const record = this.telemetry?.recordShadowDisagreement
      if (record === undefined) return
      for (const d of found.all) record.call(this.telemetry, { policy: d.livePolicy, resourceKind: d.resource.kind, action: d.action, live: d.live, candidate: d.candidate })
    } catch (err) {
      this.onInternalError(err)
    }
  }

  private startListSpan(facts: RunFacts, route: ListRouteAuthorization): AuthorizationSpan | undefined {
    return this.startSpan(facts, { resource: route.resource, action: route.action })
  }

  private startSpan<Req>(facts: RunFacts, route: RouteAuthorization<Req>): AuthorizationSpan | undefined {
    if (!this.telemetry) return undefined
    try {
      return this.telemetry.startAuthorization({
        resourceKind: typeof route.resource === 'string' ? route.resource : UNRESOLVED_KIND,
        action: typeof route.action === 'string' ? route.action : undefined,
        callId: facts.callId,
        engine: this.engine.kind,
      })
    } catch (err) {
      this.onInternalError(err)
      return undefined
    }
  }
}

/**
 * Creates the guard adapters call. Validates options once and never re-reads them per request.
 *
 * @throws `ConfigError` (`ERR_AUTHZ_INVALID_CONFIG`) naming the bad option.
 * @example
 * ```ts
 * const guard = createGuard({ engine, identity, service: 'review-service', audit, telemetry, context: callerContext })
 * const outcome = await guard.authorize(view, { resource: 'review', action: 'read', actor: 'required' })
 * ```
 */
export function createGuard<Caller extends VerifiedCallerLike = VerifiedCaller>(options: GuardOptions<Caller>): Guard<Caller> {
  checkOptions(options)
  const pipeline = new GuardPipeline(options)
  const authorizeNow = <Req>(view: RequestView<Req>, route: RouteAuthorization<Req>) => pipeline.authorizeNow(view, route)
  const authenticateNow = <Req>(view: RequestView<Req>, opts?: AuthenticateOptions) => pipeline.authenticateNow(view, opts)
  const planNow = <Req>(view: RequestView<Req>, route: ListRouteAuthorization) => pipeline.planNow(view, route)
  return Object.freeze({
    service: pipeline.service,
    compileRoute,
    compileListRoute: (route: ListRouteAuthorization, at?: string) => pipeline.compileListRoute(route, at),
    authorizeNow,
    authenticateNow,
    planNow,
    plan: async <Req>(view: RequestView<Req>, route: ListRouteAuthorization) => pipeline.planNow(view, route),
    // Rejections, never throws: the promise form is the public contract.
    authorize: async <Req>(view: RequestView<Req>, route: RouteAuthorization<Req>) => pipeline.authorizeNow(view, route),
    authenticate: async <Req>(view: RequestView<Req>, opts?: AuthenticateOptions) => pipeline.authenticateNow(view, opts),
    run: <T>(caller: Caller, fn: () => T): T => pipeline.context.run(caller, fn),
    fail: (err: unknown): GuardFailure => failureFor(toMeshguardError(err), newRequestId(), pipeline.problemSettings),
  })
}
