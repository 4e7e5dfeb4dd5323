/**
 * Turns what one pipeline run learnt into the audit record and the span's end. The pipeline is the
 * only caller of audit and telemetry on the request path.
 */
import type { AuditDelegationHop, AuditOutcome, AuditRecord, AuditTokenDigests } from '../audit/index.js'
import type { MeshguardError } from '../errors.js'
import type { AuthorizationEnd } from '../telemetry/index.js'
import type { VerifiedCallerLike } from './types.js'
import type { CheckResourcesRequest, CheckResourcesResponse, DecisionEngine, Effect, Principal, Resource } from '../types.js'

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
  policy?: string | undefined
  scope?: string | undefined
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

/** The delegation chain for the audit record, direct caller first. */
function buildDelegation(caller: VerifiedCallerLike): readonly AuditDelegationHop[] {
  const hops: AuditDelegationHop[] = [{ id: caller.principal.id, type: 'workload' }]
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

/** The parts of an audit record that only depend on the verified caller. */
interface CallerParts {
  readonly principalId: string
  readonly actor: VerifiedCallerLike['actor']
  readonly workloadDigest: string | undefined
  readonly actorDigest: string | undefined
  readonly delegation: readonly AuditDelegationHop[]
  readonly tokenDigests: AuditTokenDigests | undefined
}

/**
 * Caller parts, built once per verified caller: the identity cache hands every request with the same
 * tokens the same frozen `delegation` object, so the hops and digests are shared (frozen) between
 * their records instead of rebuilt. The other inputs are compared, so a reused object never mixes
 * two callers.
 */
const callerParts = new WeakMap<object, CallerParts>()

function partsOf(caller: VerifiedCallerLike): CallerParts {
  const key = caller.delegation
  const cached = key === undefined ? undefined : callerParts.get(key)
  const digests = caller.tokenDigests
  if (
    cached !== undefined &&
    cached.principalId === caller.principal.id &&
    cached.actor === caller.actor &&
    cached.workloadDigest === digests?.workload &&
    cached.actorDigest === digests?.actor
  ) {
    return cached
  }
  const parts: CallerParts = Object.freeze({
    principalId: caller.principal.id,
    actor: caller.actor,
    workloadDigest: digests?.workload,
    actorDigest: digests?.actor,
    delegation: buildDelegation(caller),
    tokenDigests: digests ? Object.freeze({ workload: digest(digests.workload), actor: digest(digests.actor) }) : undefined,
  })
  if (key !== undefined && Object.isFrozen(key)) callerParts.set(key, parts)
  return parts
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

/** The audit record of a run: a decision, or an authentication failure when identity refused. */
export function auditRecordOf(
  facts: RunFacts,
  service: string,
  engine: DecisionEngine,
  traceId: string | undefined,
): AuditRecord {
  const outcome = outcomeOf(facts)
  const { error, request, response, caller } = facts
  const parts = caller === undefined ? undefined : partsOf(caller)
  return {
    kind: outcome === 'unauthenticated' ? 'auth_failure' : 'decision',
    callId: facts.callId,
    timestamp: isoTimestamp(facts.startedAt),
    service,
    workloadId: facts.principal?.id,
    actorId: caller?.actor?.id ?? actorIdOf(facts.principal),
    delegation: parts?.delegation,
    transactionId: caller?.transactionId,
    traceId,
    resource: facts.resource ? { kind: facts.resource.kind, id: facts.resource.id } : undefined,
    action: facts.action,
    outcome,
    effect: facts.effect,
    policy: facts.policy,
    scope: facts.scope,
    reason: error?.reason,
    errorCode: error?.code,
    policyDigest: engine.policyDigest,
    engine: engine.kind,
    checkResources: request
      ? { inputs: request, outputs: response, error: response ? undefined : error?.code }
      : undefined,
    auditTrail: response?.effectivePolicies ? { effectivePolicies: response.effectivePolicies } : undefined,
    tokenDigests: parts?.tokenDigests,
    metadata: facts.route === undefined ? { method: facts.method } : { method: facts.method, route: facts.route },
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
    action: facts.action,
    policy: facts.policy,
    scope: facts.scope,
    policyDigest: engine.policyDigest,
    workloadId: facts.principal?.id,
    userId: facts.caller?.actor?.id ?? actorIdOf(facts.principal),
    transactionId: facts.caller?.transactionId,
    delegationDepth: facts.caller?.delegation?.workloads.length,
  }
}
