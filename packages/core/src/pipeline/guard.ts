/**
 * The framework-neutral guard: credentials → identity → resource → engine → audit/span → outcome.
 * Adapters only translate requests in and outcomes out; every decision is made here, and every
 * unexpected failure becomes a refusal (fail closed).
 */
import { AuditError, ConfigError, DeniedError, InternalError, toMeshguardError, type MeshguardError } from '../errors.js'
import type { DecisionEngine, Effect, Principal, Resource } from '../types.js'
import { failureFor, type ProblemSettings } from './problem.js'
import { resolveAction, resolveResource } from './resolve.js'
import type {
  ActorRequirement,
  AuthenticateOptions,
  AuthorizationEvent,
  AuthorizationEventKind,
  CallerContextLike,
  Guard,
  GuardDecision,
  GuardFailure,
  GuardOptions,
  GuardOutcome,
  RequestView,
  RouteAuthorization,
  VerifiedCallerLike,
} from './types.js'

const ACTOR_REQUIREMENTS: readonly ActorRequirement[] = ['required', 'forbidden', 'optional']

const DEFAULT_PROBLEM_TYPE_BASE = 'urn:meshguard:problem:'

/** Without a context the handler still runs; outbound propagation is then the caller's job. */
const PASS_THROUGH_CONTEXT: CallerContextLike<never> = { run: (_caller, fn) => fn() }

const ignore = (): void => {}

/** The end user a principal acts for, in the seed's `attr.act.user.id` shape. */
function actorIdOf(principal: Principal): string | undefined {
  const act = principal.attr?.['act']
  if (typeof act !== 'object' || act === null) return undefined
  const user = (act as Record<string, unknown>)['user']
  if (typeof user !== 'object' || user === null) return undefined
  const id = (user as Record<string, unknown>)['id']
  return typeof id === 'string' ? id : undefined
}

function hasMethod(value: unknown, name: string): boolean {
  return typeof value === 'object' && value !== null && typeof (value as Record<string, unknown>)[name] === 'function'
}

/** Validates options once, at construction, naming the option path. */
function checkOptions<Caller extends VerifiedCallerLike>(options: GuardOptions<Caller>): void {
  if (typeof options !== 'object' || options === null) throw new ConfigError('options', 'must be an object')
  if (!hasMethod(options.engine, 'checkResources')) {
    throw new ConfigError('engine', 'must be a DecisionEngine with checkResources()')
  }
  if (!hasMethod(options.identity, 'verify')) throw new ConfigError('identity', 'must be an identity verifier with verify()')
  if (typeof options.service !== 'string' || options.service === '') {
    throw new ConfigError('service', 'must be a non-empty string')
  }
  if (options.defaultActor !== undefined && !ACTOR_REQUIREMENTS.includes(options.defaultActor)) {
    throw new ConfigError('defaultActor', `must be one of ${ACTOR_REQUIREMENTS.join(', ')}`)
  }
  if (options.audit !== undefined && !hasMethod(options.audit, 'record')) throw new ConfigError('audit', 'must have record()')
  if (options.telemetry !== undefined && !hasMethod(options.telemetry, 'record')) {
    throw new ConfigError('telemetry', 'must have record()')
  }
  if (options.context !== undefined && !hasMethod(options.context, 'run')) throw new ConfigError('context', 'must have run()')
}

/** The engine's verdict on one action of one resource. */
interface Verdict {
  effect: Effect
  policy: string | undefined
}

/** Asks the engine about one action on one resource. Anything but a clear effect fails closed. */
async function decide(
  engine: DecisionEngine,
  decisionId: string,
  principal: Principal,
  resource: Resource,
  action: string,
): Promise<Verdict> {
  const response = await engine.checkResources({
    requestId: decisionId,
    principal,
    resources: [{ resource, actions: [action] }],
    includeMeta: true,
  })
  const result = response.results[0]
  const effect: Effect | undefined = result?.actions[action]
  if (effect !== 'EFFECT_ALLOW' && effect !== 'EFFECT_DENY') {
    throw new InternalError('engine returned no effect for the action', { reason: 'engine_response_invalid' })
  }
  return { effect, policy: result?.meta?.actions[action]?.matchedPolicy }
}

/** What one pipeline run learnt, turned into the audit/telemetry event at the end. */
interface RunFacts {
  principal?: Principal
  action?: string
  resource?: Resource
  policy?: string | undefined
}

/**
 * Creates the guard adapters call. Validates options once and never re-reads them per request.
 *
 * @throws `ConfigError` (`ERR_AUTHZ_INVALID_CONFIG`) naming the bad option.
 * @example
 * ```ts
 * const guard = createGuard({ engine, identity, service: 'review-service', audit, telemetry })
 * const outcome = await guard.authorize(view, { resource: 'review', action: 'read', actor: 'required' })
 * ```
 */
export function createGuard<Caller extends VerifiedCallerLike>(options: GuardOptions<Caller>): Guard<Caller> {
  checkOptions(options)
  const { engine, identity, service, audit, telemetry } = options
  const context: CallerContextLike<Caller> = options.context ?? PASS_THROUGH_CONTEXT
  const defaultActor = options.defaultActor ?? 'optional'
  const auditFailClosed = options.auditFailClosed === true
  const onInternalError = options.onInternalError ?? ignore
  const clock = options.clock ?? Date.now
  const problemSettings: ProblemSettings = Object.freeze({
    typeBase: options.problem?.typeBase ?? DEFAULT_PROBLEM_TYPE_BASE,
    realm: service,
    customize: options.problem?.customize,
    onInternalError,
  })

  /** Identity errors pass through with their reason; anything else fails closed as internal. */
  const verify = (view: RequestView<unknown>, actor: ActorRequirement | undefined): Promise<Caller> =>
    identity.verify(view.headers, { actor: actor ?? defaultActor })

  /** Reports the event; returns an audit failure only when the service must fail closed on it. */
  async function report(event: AuthorizationEvent): Promise<MeshguardError | undefined> {
    if (telemetry) {
      try {
        telemetry.record(event)
      } catch (err) {
        onInternalError(err)
      }
    }
    if (!audit) return undefined
    try {
      const written = audit.record(event)
      if (auditFailClosed) await written
      else if (written) written.then(ignore, onInternalError)
    } catch (err) {
      if (auditFailClosed) return new AuditError('audit record could not be written', { cause: err })
      onInternalError(err)
    }
    return undefined
  }

  async function finish(
    kind: AuthorizationEventKind,
    view: RequestView<unknown>,
    started: { at: number; perf: number; id: string },
    facts: RunFacts,
    caller: Caller | undefined,
    decision: GuardDecision | null,
    error: MeshguardError | undefined,
  ): Promise<GuardOutcome<Caller>> {
    const result = error
      ? error.code === 'ERR_AUTHZ_DENIED'
        ? 'deny'
        : 'error'
      : kind === 'authorization'
        ? 'allow'
        : 'authenticated'
    const event: AuthorizationEvent = {
      decisionId: started.id,
      kind,
      result,
      status: error ? error.httpStatus : 200,
      service,
      method: view.method,
      route: view.route,
      action: facts.action,
      resource: facts.resource ? { kind: facts.resource.kind, id: facts.resource.id } : undefined,
      principalId: facts.principal?.id,
      actorId: facts.principal ? actorIdOf(facts.principal) : undefined,
      policy: facts.policy,
      code: error?.code,
      reason: error?.reason,
      error,
      startTime: started.at,
      durationMs: performance.now() - started.perf,
    }
    const auditFailure = await report(event)
    const failure = error ?? auditFailure
    if (failure || !caller) return failureFor(failure ?? new InternalError('no caller'), started.id, problemSettings)
    return Object.freeze({ ok: true, caller, decision })
  }

  const start = (): { at: number; perf: number; id: string } => ({
    at: clock(),
    perf: performance.now(),
    id: globalThis.crypto.randomUUID(),
  })

  return Object.freeze({
    service,

    async authorize<Req>(view: RequestView<Req>, route: RouteAuthorization<Req>): Promise<GuardOutcome<Caller>> {
      const started = start()
      const facts: RunFacts = {}
      let caller: Caller | undefined
      let decision: GuardDecision | null = null
      let error: MeshguardError | undefined
      try {
        caller = await verify(view, route.actor)
        facts.principal = caller.principal
        facts.action = resolveAction(view, route)
        facts.resource = await resolveResource(view, route)
        const verdict = await decide(engine, started.id, caller.principal, facts.resource, facts.action)
        facts.policy = verdict.policy
        if (verdict.effect !== 'EFFECT_ALLOW') throw new DeniedError('denied by policy')
        decision = Object.freeze({
          id: started.id,
          allowed: true,
          effect: verdict.effect,
          action: facts.action,
          resource: facts.resource,
          policy: verdict.policy,
        })
      } catch (err) {
        error = toMeshguardError(err)
      }
      return finish('authorization', view, started, facts, caller, decision, error)
    },

    async authenticate<Req>(view: RequestView<Req>, opts: AuthenticateOptions = {}): Promise<GuardOutcome<Caller>> {
      const started = start()
      const facts: RunFacts = {}
      let caller: Caller | undefined
      let error: MeshguardError | undefined
      try {
        caller = await verify(view, opts.actor)
        facts.principal = caller.principal
      } catch (err) {
        error = toMeshguardError(err)
      }
      return finish('authentication', view, started, facts, caller, null, error)
    },

    run<T>(caller: Caller, fn: () => T): T {
      return context.run(caller, fn)
    },

    fail(err: unknown): GuardFailure {
      return failureFor(toMeshguardError(err), globalThis.crypto.randomUUID(), problemSettings)
    },
  })
}
