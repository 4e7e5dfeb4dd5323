/**
 * The cross-adapter contract at the edge (edge-cases.ts): every adapter app over one guard whose
 * `edge` option is the one edge verifier, with DPoP and introspection against a loopback endpoint,
 * over real HTTP on 127.0.0.1. Every adapter must give the expected answer, all the same one, and
 * every edge decision is audited like an inner hop's.
 */
import { createAuditLog, createGuard, createTelemetry, EmbeddedEngine, functionSink, type AuditLog, type AuditRecord } from '@meshguard/core'
import {
  ATTR_AUTHZ_CALL_ID,
  ATTR_AUTHZ_DECISION,
  ATTR_AUTHZ_REASON,
  ATTR_AUTHZ_TOKEN_KIND,
  EVENT_AUTHZ_TOKEN_REJECTED,
  EVENT_AUTHZ_TOKEN_VERIFIED,
} from '@meshguard/core/telemetry'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { clientKey } from '../support/dpop.js'
import { createIdentityFixture } from '../support/identity.js'
import { startAllAdapters } from './all-drivers.js'
import { contractEngine, expectContractAnswers, sendContractCase, SERVICE, type ContractAnswer } from './contract.js'
import type { RunningApp } from './drivers.js'
import { EDGE_CASES, startIntrospectionServer, type EdgeFixture, type IntrospectionServer } from './edge-cases.js'
import { USER_ISSUER } from '../support/identity.js'
import { EDGE_POLICY } from '../support/edge-policy.js'
import { otelHarness } from '../../packages/core/test/telemetry/harness.js'

let fixture: EdgeFixture
let apps = new Map<string, RunningApp>()
let introspection: IntrospectionServer
let audit: AuditLog
const records: AuditRecord[] = []
const otel = otelHarness()

beforeAll(async () => {
  const ids = await createIdentityFixture()
  fixture = { ids, alice: clientKey() }
  introspection = await startIntrospectionServer()
  audit = createAuditLog({ sinks: [functionSink((record) => void records.push(record))] })
  const guard = createGuard({
    engine: contractEngine(EmbeddedEngine.fromSources([{ file: 'edge-review.yaml', text: EDGE_POLICY }])),
    service: SERVICE,
    audit,
    telemetry: createTelemetry({ tracerProvider: otel.tracerProvider }),
    edge: {
      trust: { workloads: [], actors: ids.trust().actors },
      // Each app listens on its own port: the origin is the one it was addressed at (loopback only).
      origin: (view) => `http://${String(view.headers['host'])}`,
      introspection: { issuer: USER_ISSUER, endpoint: introspection.url, clientId: 'edge', clientSecret: 'edge-secret', cacheTtlMs: 0, timeoutMs: 2000 },
    },
  })
  apps = await startAllAdapters(guard)
})

afterAll(async () => {
  await Promise.all([...apps.values()].map((app) => app.close()))
  await introspection.close()
  await audit.close()
  await otel.shutdown()
})

describe('adapter contract at the edge', () => {
  it.each(EDGE_CASES.map((c) => [c.name, c] as const))('%s', async (_name, testCase) => {
    const answers: Record<string, ContractAnswer> = {}
    for (const [name, app] of apps) {
      // A proof names the URL it is for: each app gets its own.
      const headers = await testCase.headers(fixture, `${app.url}${testCase.path}`)
      if (testCase.replay === true) expect((await sendContractCase(app, testCase, headers)).status, name).toBe(200)
      answers[name] = await sendContractCase(app, testCase, headers)
    }
    expectContractAnswers(testCase, answers)
  })

  it('audits and traces every edge decision under the decision id its answer names, and never the token', async () => {
    otel.spans.reset()
    const refused = EDGE_CASES.find((c) => c.reason === 'dpop_required')!
    const grantedCase = EDGE_CASES.find((c) => c.name.startsWith('dpop:') && c.status === 200)!
    const ids: string[] = []
    for (const app of apps.values()) {
      ids.push(String((await sendContractCase(app, refused, await refused.headers(fixture, `${app.url}${refused.path}`))).body['decisionId']))
      expect((await sendContractCase(app, grantedCase, await grantedCase.headers(fixture, `${app.url}${grantedCase.path}`))).status).toBe(200)
    }
    await audit.flush()
    for (const id of ids) expect(records.filter((r) => r.callId === id)).toEqual([expect.objectContaining({ outcome: 'unauthenticated', reason: 'dpop_required' })])
    const allowed = records.filter((r) => r.outcome === 'allowed' && r.actorId === 'alice')
    expect(allowed.length).toBeGreaterThanOrEqual(apps.size)
    // At the edge the principal is the user: no workload called, and the delegation chain is the user alone.
    for (const record of allowed) expect(record).toMatchObject({ workloadId: undefined, delegation: [{ id: 'alice', type: 'user' }] })
    expect(JSON.stringify(records)).not.toMatch(/eyJ|opaque-alice/)
    // One `authorize review` span per decision, as at an inner hop, with the access token's event.
    const spans = otel.spans.getFinishedSpans()
    for (const id of ids) {
      const [span] = spans.filter((s) => s.attributes[ATTR_AUTHZ_CALL_ID] === id)
      expect(span?.attributes[ATTR_AUTHZ_DECISION]).toBe('unauthenticated')
      expect(span?.events.map((e) => [e.name, e.attributes?.[ATTR_AUTHZ_TOKEN_KIND], e.attributes?.[ATTR_AUTHZ_REASON]])).toEqual([[EVENT_AUTHZ_TOKEN_REJECTED, 'actor', 'dpop_required']])
    }
    const granted = spans.filter((s) => s.attributes[ATTR_AUTHZ_DECISION] === 'allowed')
    expect(granted.map((s) => s.name)).toEqual(Array(apps.size).fill('authorize review'))
    for (const span of granted) expect(span.events.map((e) => [e.name, e.attributes?.[ATTR_AUTHZ_TOKEN_KIND]])).toEqual([[EVENT_AUTHZ_TOKEN_VERIFIED, 'actor']])
  })
})
