/**
 * Audit and telemetry as a service sees them: through the guard pipeline, with slow and failing
 * sinks, the drop counter, fail-closed auditing, and spans/metrics in in-memory OpenTelemetry
 * exporters (injected, never registered globally).
 */
import { afterEach, describe, expect, it } from 'vitest'
import {
  IdentityError,
  createAuditLog,
  createGuard,
  createTelemetry,
  functionSink,
  type AuditRecord,
  type AuditSink,
  type CheckResourcesRequest,
  type CheckResourcesResponse,
  type DecisionEngine,
} from '@meshguard/core'
import { type GuardOutcome, type HeaderView, type VerifiedCallerLike } from '@meshguard/core/adapter'
import {
  ATTR_AUTHZ_DECISION,
  ATTR_AUTHZ_REASON,
  METRIC_AUDIT_DROPPED,
  METRIC_AUTHZ_DECISIONS,
} from '@meshguard/core/telemetry'
import { otelHarness } from '../../packages/core/test/telemetry/harness.js'

/** Allows `read` for the `employee-service` role, denies everything else; records what it was asked. */
class ReadOnlyEngine implements DecisionEngine {
  readonly kind = 'embedded' as const
  readonly policyDigest = 'f'.repeat(64)
  checkResources(request: CheckResourcesRequest): Promise<CheckResourcesResponse> {
    return Promise.resolve({
      requestId: request.requestId ?? '',
      results: request.resources.map(({ resource, actions }) => ({
        resource: { kind: resource.kind, id: resource.id, policyVersion: 'default', scope: '' },
        actions: Object.fromEntries(
          actions.map((a) => [a, a === 'read' && request.principal.roles.includes('employee-service') ? 'EFFECT_ALLOW' : 'EFFECT_DENY']),
        ),
        validationErrors: [],
        outputs: [],
        meta: { actions: Object.fromEntries(actions.map((a) => [a, { matchedPolicy: 'resource.review.vdefault', matchedScope: '' }])), effectiveDerivedRoles: [] },
      })),
      effectivePolicies: { 'resource.review.vdefault': {} },
    })
  }
}

/** Identity stand-in: the workload is named by a header; `bad` is rejected like a wrong audience. */
const identity = {
  verify(headers: HeaderView): Promise<VerifiedCallerLike> {
    const who = headers['x-test-workload']
    if (who === 'bad' || typeof who !== 'string') return Promise.reject(new IdentityError('aud_mismatch', 'wrong audience'))
    return Promise.resolve({
      principal: { id: who, roles: [who], attr: { act: { user: { id: 'alice', roles: ['manager'], attr: {} } } } },
      actor: { id: 'alice', type: 'user' },
      transactionId: 'txn-1',
      tokenDigests: { workload: 'd2wk', actor: 'd2ac' },
    })
  },
}

const view = (workload: string) => ({
  method: 'GET',
  path: '/reviews/r1',
  route: '/reviews/:id',
  headers: { 'x-test-workload': workload },
  params: { id: 'r1' },
  request: {},
})
const route = { resource: 'review', action: 'read' }

let harness = otelHarness()
afterEach(async () => {
  await harness.shutdown()
  harness = otelHarness()
})

const telemetry = () => createTelemetry({ tracerProvider: harness.tracerProvider, meterProvider: harness.meterProvider })

const statusOf = (outcome: GuardOutcome<VerifiedCallerLike>): number => (outcome.ok ? 200 : outcome.status)

describe('audit through the guard pipeline', () => {
  it('writes one record per decision and per authentication failure, with digest and check I/O, no tokens', async () => {
    const records: AuditRecord[] = []
    const audit = createAuditLog({ sinks: [functionSink((r) => void records.push(r))] })
    const t = telemetry()
    const guard = createGuard({ engine: new ReadOnlyEngine(), identity, service: 'review-service', audit, telemetry: t })
    const outcomes = [
      await guard.authorize(view('employee-service'), route),
      await guard.authorize(view('gateway'), route),
      await guard.authorize(view('bad'), route),
    ]
    expect(outcomes.map(statusOf)).toEqual([200, 403, 401])
    await audit.flush()
    expect(records.map((r) => [r.kind, r.outcome, r.reason])).toEqual([
      ['decision', 'allowed', undefined],
      ['decision', 'denied', 'denied'],
      ['auth_failure', 'unauthenticated', 'aud_mismatch'],
    ])
    const [allowed] = records
    expect(allowed).toMatchObject({
      service: 'review-service',
      workloadId: 'employee-service',
      actorId: 'alice',
      transactionId: 'txn-1',
      resource: { kind: 'review', id: 'r1' },
      action: 'read',
      effect: 'EFFECT_ALLOW',
      policy: 'resource.review.vdefault',
      policyDigest: 'f'.repeat(64),
      auditTrail: { effectivePolicies: { 'resource.review.vdefault': {} } },
    })
    expect(allowed?.checkResources?.outputs?.results[0]?.actions).toEqual({ read: 'EFFECT_ALLOW' })
    // The span and the record share the trace id, so a trace links to its audit record.
    const spans = harness.spans.getFinishedSpans()
    expect(spans.map((s) => s.name)).toEqual(['authorize review', 'authorize review', 'authorize review'])
    expect(allowed?.traceId).toBe(spans[0]?.spanContext().traceId)
    expect(spans.map((s) => s.attributes[ATTR_AUTHZ_DECISION])).toEqual(['allowed', 'denied', 'unauthenticated'])
    const decisions = await harness.points(METRIC_AUTHZ_DECISIONS)
    expect(decisions.find((p) => p.attributes[ATTR_AUTHZ_REASON] === 'aud_mismatch')?.value).toBe(1)
  })

  it('a failing sink never changes a decision when not failing closed', async () => {
    const audit = createAuditLog({ sinks: [functionSink(() => Promise.reject(new Error('disk full')))] })
    const guard = createGuard({ engine: new ReadOnlyEngine(), identity, service: 'review-service', audit })
    const results: number[] = []
    for (let i = 0; i < 5; i++) {
      results.push(statusOf(await guard.authorize(view('employee-service'), route)))
      results.push(statusOf(await guard.authorize(view('gateway'), route)))
      await audit.flush()
    }
    expect(results).toEqual([200, 403, 200, 403, 200, 403, 200, 403, 200, 403])
    expect(audit.stats().failedRecords).toBe(10)
  })

  it('fails closed (503 audit_unavailable) while the audit sink fails, and recovers when it heals', async () => {
    let healthy = false
    const audit = createAuditLog({
      sinks: [functionSink(() => (healthy ? undefined : Promise.reject(new Error('collector down'))))],
      failClosed: true,
    })
    const guard = createGuard({ engine: new ReadOnlyEngine(), identity, service: 'review-service', audit })
    expect(statusOf(await guard.authorize(view('employee-service'), route))).toBe(200)
    await audit.flush()
    const refused = await guard.authorize(view('employee-service'), route)
    expect(refused.ok).toBe(false)
    if (!refused.ok) {
      expect(refused.status).toBe(503)
      expect(refused.problem.reason).toBe('audit_unavailable')
      expect(refused.problem.code).toBe('ERR_AUTHZ_AUDIT_FAILED')
    }
    healthy = true
    await audit.flush() // the refusal itself was audited, through the healed sink
    expect(statusOf(await guard.authorize(view('employee-service'), route))).toBe(200)
  })

  it('a slow sink never blocks requests: records beyond the buffer are dropped and counted', async () => {
    let release!: () => void
    const gate = new Promise<void>((resolve) => (release = resolve))
    const slow: AuditSink = { name: 'slow', write: () => gate }
    const t = telemetry()
    const audit = createAuditLog({ sinks: [slow], bufferSize: 4, batchSize: 1, telemetry: t })
    const guard = createGuard({ engine: new ReadOnlyEngine(), identity, service: 'review-service', audit, telemetry: t })
    const statuses: number[] = []
    // Every request completes while the sink has not finished a single write.
    for (let i = 0; i < 20; i++) statuses.push(statusOf(await guard.authorize(view('employee-service'), route)))
    expect(statuses.every((s) => s === 200)).toBe(true)
    const { dropped, recorded } = audit.stats()
    expect(recorded + dropped).toBe(20)
    expect(dropped).toBeGreaterThan(0)
    expect((await harness.points(METRIC_AUDIT_DROPPED))[0]?.value).toBe(dropped)
    release()
    await audit.close()
  })

  it('with failClosed, a full buffer (slow sink) refuses with 503 instead of serving unaudited', async () => {
    let release!: () => void
    const gate = new Promise<void>((resolve) => (release = resolve))
    const audit = createAuditLog({ sinks: [{ name: 'slow', write: () => gate }], bufferSize: 2, batchSize: 1, failClosed: true })
    const guard = createGuard({ engine: new ReadOnlyEngine(), identity, service: 'review-service', audit })
    const statuses: number[] = []
    for (let i = 0; i < 6; i++) statuses.push(statusOf(await guard.authorize(view('employee-service'), route)))
    expect(statuses).toContain(503)
    // Nothing was served without a record in the buffer.
    expect(statuses.filter((s) => s === 200).length).toBeLessThanOrEqual(audit.stats().recorded)
    release()
    await audit.close()
  })
})
