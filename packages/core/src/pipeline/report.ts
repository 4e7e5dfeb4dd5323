/**
 * Turns what one pipeline run learnt into the audit record and the span's end. The pipeline is the
 * only caller of audit and telemetry on the request path.
 */
import type { AuditDelegationHop, AuditOutcome, AuditRecord, AuditShadow, AuditTokenDigests } from '../audit/index.js'
import type { PlanFilterKind } from '../engine/plan/types.js'
import type { MeshguardError } from '../errors.js'
import type { AuthorizationEnd } from '../telemetry/index.js'
import { isEdgeCaller } from '../identity/verify/edge-caller.js'
import type { VerifiedCallerLike } from './types.js'
import type { CheckResourcesRequest, CheckResourcesResponse, DecisionEngine, DecisionExplanation, Effect, Principal, Resource } from '../types.js'

/** Everything a run found out, filled in as it goes. */
export interface RunFacts {
  caller?: VerifiedCallerLike | undefined
  readonly callId: string
  readonly startedAt: number
  readonly method: string
  readonly route?: string | undefined
  principal?: Principal | undefined
  action?: string | undefined
  resource?: Resource | undefined
  request?: CheckResourcesRequest | undefined
  response?: CheckResourcesResponse | undefined
  effect?: Effect | undefined
  /** On list routes: the plan's kind. */
  planKind?: PlanFilterKind | undefined
  policy?: string | undefined
  scope?: string | undefined
  /** The rule that decided, when the engine named it. */
  rule?: string | undefined
  /** Set for checks a handler made (`req.meshguard.check`); route checks leave it unset. */
  inHandler?: boolean | undefined
  /** On denials, when the guard explains them. */
  explanation?: DecisionExplanation | undefined
  /** When a shadow policy set disagreed. */
  shadow?: AuditShadow | undefined
  error?: MeshguardError | undefined
}

/** The end user a principal acts for, in the seed's `attr.act.user.id` shape. */
export function actorIdOf(principal: Principal | undefined): string | undefined {
  const act = principal?.attr?.['act']
  if (typeof act !== 'object' || act === null) return undefined
  const user = (act as Record<string, unknown>)['user']
  if (typeof user !== 'object' || user === null) return undefined
  const id = (user as Record<string, unknown>)['id']
  return typeof id === 'string' ? id : undefined
}

/** The calling workload: the principal, except at the edge, where the principal is the user and no workload calls. */
function workloadIdOf(facts: RunFacts): string | undefined {
  return isEdgeCaller(facts.caller) ? undefined : facts.principal?.id
}

/** The delegation chain for the audit record, direct caller first (at the edge: the user alone). */
function buildDelegation(caller: VerifiedCallerLike): readonly AuditDelegationHop[] {
  const hops: AuditDelegationHop[] = isEdgeCaller(caller) ? [] : [{ id: caller.principal.id, type: 'workload' }]
  for (const id of caller.delegation?.workloads ?? []) hops.push({ id, type: 'workload' })
  if (caller.actor) hops.push({ id: caller.actor.id, type: caller.actor.type })
  for (const id of caller.delegation?.actorChain.slice(1) ?? []) hops.push({ id })
  return deepFrozen(hops)
}

function deepFrozen<T extends readonly object[]>(items: T): T {
  for (const item of items) Object.freeze(item)
  return Object.freeze(items)
}

const digest = (value: string | undefined): string | undefined => (value === undefined ? undefined : `sha256:${value}`)

/** The delegation hops of an audit record, with what they were built from. */
interface HopParts {
  readonly principalId: string
  readonly actor: VerifiedCallerLike['actor']
  readonly delegation: readonly AuditDelegationHop[]
}

/**
 * Hops built once per delegation object: the identity cache hands every request with the same tokens
 * the same frozen `delegation`, and direct calls of one session share one even across new workload
 * tokens. The other inputs are compared, so a reused object never mixes two callers.
 */
const hopParts = new WeakMap<object, HopParts>()

function hopsOf(caller: VerifiedCallerLike): readonly AuditDelegationHop[] {
  const key = caller.delegation
  const cached = key === undefined ? undefined : hopParts.get(key)
  if (cached !== undefined && cached.principalId === caller.principal.id && cached.actor === caller.actor) return cached.delegation
  const delegation = buildDelegation(caller)
  if (key !== undefined && Object.isFrozen(key)) hopParts.set(key, { principalId: caller.principal.id, actor: caller.actor, delegation })
  return delegation
}

/** Audit-form digests (`sha256:…`) per frozen digests object: one per verified token pair. */
const auditDigests = new WeakMap<object, AuditTokenDigests>()

function digestsOf(caller: VerifiedCallerLike): AuditTokenDigests | undefined {
  const digests = caller.tokenDigests
  if (digests === undefined) return undefined
  const cached = auditDigests.get(digests)
  if (cached !== undefined) return cached
  const formatted: AuditTokenDigests = Object.freeze({ workload: digest(digests.workload), actor: digest(digests.actor) })
  // A frozen digests object cannot change under the cached form.
  if (Object.isFrozen(digests)) auditDigests.set(digests, formatted)
  return formatted
}

/**
 * ISO-8601 timestamps, formatted once per second: under load every request brings a new millisecond,
 * and `toISOString()` on each cost more than the rest of the audit record. The prefix up to the
 * seconds is reused; only the milliseconds are appended.
 */
let prefixSecond = Number.NaN
let prefix = ''

function isoTimestamp(ms: number): string {
  // A clock with fractions of a millisecond (a custom one) is formatted in full, as before.
  if (!Number.isInteger(ms)) return new Date(ms).toISOString()
  const second = Math.floor(ms / 1000)
  if (second !== prefixSecond) {
    // "YYYY-MM-DDTHH:MM:SS." of this second (years outside 0000–9999 fall back to the full format).
    const iso = new Date(second * 1000).toISOString()
    if (iso.length !== 24) return new Date(ms).toISOString()
    prefix = iso.slice(0, 20)
    prefixSecond = second
  }
  const millis = ms - second * 1000
  return `${prefix}${millis < 10 ? '00' : millis < 100 ? '0' : ''}${millis}Z`
}

/** allowed / denied from the policy; unauthenticated for 401s; error for everything that failed closed. */
export function outcomeOf(facts: RunFacts): AuditOutcome {
  const { error } = facts
  if (!error) return 'allowed'
  if (error.code === 'ERR_AUTHZ_DENIED') return 'denied'
  if (error.httpStatus === 401) return 'unauthenticated'
  return 'error'
}

/** The record's request context: method, route pattern, and `check: 'handler'` for handler checks. */
function metadataOf(facts: RunFacts): Record<string, string> {
  const metadata: Record<string, string> = facts.route === undefined ? { method: facts.method } : { method: facts.method, route: facts.route }
  if (facts.inHandler === true) metadata['check'] = 'handler'
  return metadata
}

/** The audit record of a run: a decision, or an authentication failure when identity refused. */
export function auditRecordOf(
  facts: RunFacts,
  service: string,
  engine: DecisionEngine,
  traceId: string | undefined,
): AuditRecord {
  const outcome = outcomeOf(facts)
  const { error, request, response, caller } = facts
  return {
    kind: outcome === 'unauthenticated' ? 'auth_failure' : 'decision',
    callId: facts.callId,
    timestamp: isoTimestamp(facts.startedAt),
    service,
    workloadId: workloadIdOf(facts),
    actorId: caller?.actor?.id ?? actorIdOf(facts.principal),
    delegation: caller === undefined ? undefined : hopsOf(caller),
    transactionId: caller?.transactionId,
    traceId,
    resource: facts.resource ? { kind: facts.resource.kind, id: facts.resource.id } : undefined,
    action: facts.action,
    planKind: facts.planKind,
    outcome,
    effect: facts.effect,
    policy: facts.policy,
    scope: facts.scope,
    rule: facts.rule,
    reason: error?.reason,
    errorCode: error?.code,
    tokenKind: error?.tokenKind,
    policyDigest: engine.policyDigest,
    engine: engine.kind,
    checkResources: request
      ? { inputs: request, outputs: response, error: response ? undefined : error?.code }
      : undefined,
    auditTrail: response?.effectivePolicies ? { effectivePolicies: response.effectivePolicies } : undefined,
    explanation: facts.explanation,
    shadow: facts.shadow,
    tokenDigests: caller === undefined ? undefined : digestsOf(caller),
    metadata: metadataOf(facts),
  }
}

/** What the span records when it ends. */
export function spanEndOf(facts: RunFacts, engine: DecisionEngine): AuthorizationEnd {
  return {
    decision: outcomeOf(facts),
    reason: facts.error?.reason,
    errorCode: facts.error?.code,
    resourceKind: facts.resource?.kind,
    resourceId: facts.resource?.id,
    planKind: facts.planKind,
    action: facts.action,
    policy: facts.policy,
    scope: facts.scope,
    policyDigest: engine.policyDigest,
    workloadId: workloadIdOf(facts),
    userId: facts.caller?.actor?.id ?? actorIdOf(facts.principal),
    transactionId: facts.caller?.transactionId,
    delegationDepth: facts.caller?.delegation?.workloads.length,
  }
}
