import { ROOT_CONTEXT, SpanStatusCode, createNoopMeter, trace, type Meter, type MeterProvider } from '@opentelemetry/api'
import { afterEach, describe, expect, it, vi } from 'vitest'
import {
  ATTR_AUTHZ_ACTION,
  ATTR_AUTHZ_DECISION,
  ATTR_AUTHZ_ENGINE,
  ATTR_AUTHZ_OUTCOME,
  ATTR_AUTHZ_POLICY_DIGEST,
  ATTR_AUTHZ_POLICY_NAME,
  ATTR_AUTHZ_REASON,
  ATTR_AUTHZ_RESOURCE_ID,
  ATTR_AUTHZ_RESOURCE_KIND,
  ATTR_AUTHZ_TOKEN_KIND,
  ATTR_ERROR_TYPE,
  ATTR_USER_ID,
  EVENT_AUTHZ_TOKEN_REJECTED,
  EVENT_AUTHZ_TOKEN_VERIFIED,
  METRIC_AUDIT_DROPPED,
  METRIC_AUTHZ_CHECK_DURATION,
  METRIC_AUTHZ_DECISIONS,
  METRIC_JWKS_REFRESHES,
  METRIC_JWKS_STALE,
  METRIC_POLICY_DIGEST,
  METRIC_POLICY_RELOADS,
  createTelemetry,
} from '../../src/telemetry/index.js'
import { otelHarness } from './harness.js'

let harness = otelHarness()
afterEach(async () => {
  await harness.shutdown()
  harness = otelHarness()
})

const telemetry = (recordUserId = false) =>
  createTelemetry({ tracerProvider: harness.tracerProvider, meterProvider: harness.meterProvider, recordUserId })

describe('authorization spans', () => {
  it('names the span after the resource kind and records the decision attributes', () => {
    const authz = telemetry().startAuthorization({ resourceKind: 'review', action: 'read', resourceId: 'r1', engine: 'embedded' })
    authz.tokenVerified('workload', 'https://idp')
    authz.tokenVerified('actor')
    authz.end({ decision: 'allowed', policy: 'resource.review.vdefault', policyDigest: 'd1', userId: 'alice' })
    const [span] = harness.spans.getFinishedSpans()
    expect(span?.name).toBe('authorize review')
    expect(span?.attributes).toMatchObject({
      [ATTR_AUTHZ_RESOURCE_KIND]: 'review',
      [ATTR_AUTHZ_ACTION]: 'read',
      [ATTR_AUTHZ_RESOURCE_ID]: 'r1',
      [ATTR_AUTHZ_ENGINE]: 'embedded',
      [ATTR_AUTHZ_DECISION]: 'allowed',
      [ATTR_AUTHZ_POLICY_NAME]: 'resource.review.vdefault',
      [ATTR_AUTHZ_POLICY_DIGEST]: 'd1',
    })
    // user.id is personal data: absent unless opted in.
    expect(span?.attributes).not.toHaveProperty(ATTR_USER_ID)
    expect(span?.events.map((e) => [e.name, e.attributes?.[ATTR_AUTHZ_TOKEN_KIND]])).toEqual([
      [EVENT_AUTHZ_TOKEN_VERIFIED, 'workload'],
      [EVENT_AUTHZ_TOKEN_VERIFIED, 'actor'],
    ])
    expect(span?.status.code).toBe(SpanStatusCode.UNSET)
    expect(authz.traceId).toBe(span?.spanContext().traceId)
  })

  it('records user.id only when opted in', () => {
    telemetry(true).startAuthorization({ resourceKind: 'review' }).end({ decision: 'denied', reason: 'denied', userId: 'alice' })
    expect(harness.spans.getFinishedSpans()[0]?.attributes[ATTR_USER_ID]).toBe('alice')
  })

  it('marks failures as span errors with error.type, but not denials', () => {
    const t = telemetry()
    t.startAuthorization({ resourceKind: 'review' }).end({ decision: 'denied', reason: 'denied' })
    const failed = t.startAuthorization({ resourceKind: 'review' })
    failed.tokenRejected('workload', 'aud_mismatch')
    failed.end({ decision: 'error', reason: 'pdp_timeout', errorCode: 'ERR_AUTHZ_UNAVAILABLE' })
    const [denied, error] = harness.spans.getFinishedSpans()
    expect(denied?.status.code).toBe(SpanStatusCode.UNSET)
    expect(denied?.attributes).not.toHaveProperty(ATTR_ERROR_TYPE)
    expect(error?.status.code).toBe(SpanStatusCode.ERROR)
    expect(error?.attributes[ATTR_ERROR_TYPE]).toBe('ERR_AUTHZ_UNAVAILABLE')
    expect(error?.events[0]?.name).toBe(EVENT_AUTHZ_TOKEN_REJECTED)
    expect(error?.events[0]?.attributes?.[ATTR_AUTHZ_REASON]).toBe('aud_mismatch')
  })

  it('is a child of the given parent and ends only once', () => {
    const t = telemetry()
    const parent = harness.tracerProvider.getTracer('test').startSpan('GET /reviews/:id')
    const authz = t.startAuthorization({ resourceKind: 'review', parent: trace.setSpan(ROOT_CONTEXT, parent) })
    authz.end({ decision: 'allowed' })
    authz.end({ decision: 'error' })
    parent.end()
    const spans = harness.spans.getFinishedSpans()
    expect(spans).toHaveLength(2)
    expect(spans[0]?.parentSpanContext?.spanId).toBe(parent.spanContext().spanId)
    expect(trace.getSpan(authz.context)).toBe(authz.span)
  })
})

describe('metrics', () => {
  it('counts decisions by decision, reason and kind, and records latency', async () => {
    const t = telemetry()
    t.startAuthorization({ resourceKind: 'review' }).end({ decision: 'allowed' })
    t.startAuthorization({ resourceKind: 'review' }).end({ decision: 'allowed' })
    t.startAuthorization({ resourceKind: 'unknown' }).end({ decision: 'denied', reason: 'denied', resourceKind: 'payment' })
    const points = await harness.points(METRIC_AUTHZ_DECISIONS)
    const counts = points.map((p) => [p.attributes[ATTR_AUTHZ_DECISION], p.attributes[ATTR_AUTHZ_REASON], p.attributes[ATTR_AUTHZ_RESOURCE_KIND], p.value])
    expect(counts).toEqual(
      expect.arrayContaining([
        ['allowed', undefined, 'review', 2],
        ['denied', 'denied', 'payment', 1],
      ]),
    )
    const histogram = await harness.metric(METRIC_AUTHZ_CHECK_DURATION)
    expect(histogram?.descriptor.unit).toBe('s')
    const total = histogram?.dataPoints.reduce((n, p) => n + (p.value as { count: number }).count, 0)
    expect(total).toBe(3)
  })

  it('counts JWKS refreshes, stale serves, audit drops and reloads', async () => {
    const t = telemetry()
    t.recordJwksRefresh('success', 'https://idp')
    t.recordJwksRefresh('failure', 'https://idp')
    t.recordJwksStale('https://idp')
    t.recordAuditDrop()
    t.recordAuditDrop(4)
    t.recordReload('success')
    t.recordReload('failure', 'ERR_AUTHZ_POLICY_INVALID')
    const refreshes = await harness.points(METRIC_JWKS_REFRESHES)
    expect(refreshes.map((p) => [p.attributes[ATTR_AUTHZ_OUTCOME], p.value]).sort()).toEqual([
      ['failure', 1],
      ['success', 1],
    ])
    expect((await harness.points(METRIC_JWKS_STALE))[0]?.value).toBe(1)
    expect((await harness.points(METRIC_AUDIT_DROPPED))[0]?.value).toBe(5)
    const reloads = await harness.points(METRIC_POLICY_RELOADS)
    expect(reloads.find((p) => p.attributes[ATTR_AUTHZ_OUTCOME] === 'failure')?.attributes[ATTR_ERROR_TYPE]).toBe(
      'ERR_AUTHZ_POLICY_INVALID',
    )
  })

  it('reports the policy digest in force as a gauge and follows changes', async () => {
    const t = telemetry()
    const engine: { kind: 'embedded'; policyDigest: string | undefined } = { kind: 'embedded', policyDigest: 'aaa' }
    const stop = t.observePolicyDigest(engine)
    expect((await harness.points(METRIC_POLICY_DIGEST)).map((p) => p.attributes[ATTR_AUTHZ_POLICY_DIGEST])).toEqual(['aaa'])
    engine.policyDigest = 'bbb'
    const after = await harness.points(METRIC_POLICY_DIGEST)
    expect(after.find((p) => p.attributes[ATTR_AUTHZ_POLICY_DIGEST] === 'bbb')?.attributes[ATTR_AUTHZ_ENGINE]).toBe('embedded')
    stop()
    engine.policyDigest = 'ccc'
    const stopped = await harness.points(METRIC_POLICY_DIGEST)
    expect(stopped.some((p) => p.attributes[ATTR_AUTHZ_POLICY_DIGEST] === 'ccc')).toBe(false)
  })
})

describe('without an SDK', () => {
  it('uses non-recording spans and no trace id', () => {
    const authz = createTelemetry().startAuthorization({ resourceKind: 'review' })
    expect(authz.span.isRecording()).toBe(false)
    expect(authz.traceId).toBeUndefined()
    authz.tokenVerified('workload')
    expect(() => authz.end({ decision: 'allowed' })).not.toThrow()
  })

  it('says a span is observed only when it records or metrics are measured', () => {
    expect(createTelemetry().startAuthorization({ resourceKind: 'review' }).observed).toBe(false)
    expect(createTelemetry({ meterProvider: { getMeter: () => createNoopMeter() } }).startAuthorization({ resourceKind: 'review' }).observed).toBe(false)
    expect(createTelemetry({ tracerProvider: harness.tracerProvider }).startAuthorization({ resourceKind: 'review' }).observed).toBe(true)
    expect(createTelemetry({ meterProvider: harness.meterProvider }).startAuthorization({ resourceKind: 'review' }).observed).toBe(true)
  })

  it('builds no metric attributes for the API\'s no-op instruments, but feeds any other meter', () => {
    const noop = createNoopMeter()
    const noopAdd = vi.spyOn(noop.createCounter('any'), 'add')
    const noopRecord = vi.spyOn(noop.createHistogram('any'), 'record')
    const end = (meterProvider: MeterProvider): void =>
      createTelemetry({ meterProvider }).startAuthorization({ resourceKind: 'review' }).end({ decision: 'denied', reason: 'no_match' })
    try {
      end({ getMeter: () => createNoopMeter() })
      expect(noopAdd).not.toHaveBeenCalled()
      expect(noopRecord).not.toHaveBeenCalled()
      // A meter of its own (any SDK's) still gets every decision and duration.
      const add = vi.fn()
      const record = vi.fn()
      const own = Object.assign(Object.create(createNoopMeter()) as Meter, { createCounter: () => ({ add }), createHistogram: () => ({ record }) })
      end({ getMeter: () => own })
      expect(add).toHaveBeenCalledWith(1, expect.objectContaining({ 'authz.decision': 'denied', 'authz.reason': 'no_match' }))
      expect(record).toHaveBeenCalledTimes(1)
    } finally {
      noopAdd.mockRestore()
      noopRecord.mockRestore()
    }
  })
})
