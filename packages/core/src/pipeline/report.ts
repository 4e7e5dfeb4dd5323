/**
 * Turns what one pipeline run learnt into the audit record and the span's end. The pipeline is the
 * only caller of audit and telemetry on the request path.
 */
import type { AuditDelegationHop, AuditOutcome, AuditRecord } from '../audit/index.js'
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
function delegationOf(caller: VerifiedCallerLike | undefined): AuditDelegationHop[] | undefined {
  if (!caller) return undefined
  const hops: AuditDelegationHop[] = [{ id: caller.principal.id, type: 'workload' }]
  for (const id of caller.delegation?.workloads ?? []) hops.push({ id, type: 'workload' })
  if (caller.actor) hops.push({ id: caller.actor.id, type: caller.actor.type })
  for (const id of caller.delegation?.actorChain.slice(1) ?? []) hops.push({ id })
  return hops
}

const digest = (value: string | undefined): string | undefined => (value === undefined ? undefined : `sha256:${value}`)

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
  const digests = caller?.tokenDigests
  return {
    kind: outcome === 'unauthenticated' ? 'auth_failure' : 'decision',
    callId: facts.callId,
    timestamp: new Date(facts.startedAt).toISOString(),
    service,
    workloadId: facts.principal?.id,
    actorId: caller?.actor?.id ?? actorIdOf(facts.principal),
    delegation: delegationOf(caller),
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
    tokenDigests: digests ? { workload: digest(digests.workload), actor: digest(digests.actor) } : undefined,
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
