/**
 * The identity options of issue 18 as a service sees them through the guard: a replayed workload
 * token, a revoked actor token and a failing revocation check each give the HTTP status, one audit
 * record and one span carrying their reason code (injected in-memory OpenTelemetry exporters).
 */
import { afterEach, describe, expect, it } from 'vitest'
import { createAuditLog, createGuard, createTelemetry, functionSink, type AuditRecord, type DecisionEngine } from '@meshguard/core'
import { ATTR_AUTHZ_DECISION, ATTR_AUTHZ_REASON } from '@meshguard/core/telemetry'
import { otelHarness } from '../../packages/core/test/telemetry/harness.js'
// Core's verifier from source, like test/support/identity.ts: the fixture's options carry the source's TrustBundle,
// a class the built declarations accept only from themselves (private members). At run time it is @meshguard/core's.
import { createIdentityVerifier } from '../../packages/core/src/identity/index.js'
import { createIdentityFixture } from '../support/identity.js'

/** Allows everything: these tests are about identity. */
const allowAll: DecisionEngine = {
  kind: 'embedded',
  policyDigest: 'a'.repeat(64),
  checkResources: (request) =>
    Promise.resolve({
      requestId: request.requestId ?? '',
      results: request.resources.map(({ resource, actions }) => ({
        resource: { kind: resource.kind, id: resource.id, policyVersion: 'default', scope: '' },
        actions: Object.fromEntries(actions.map((a) => [a, 'EFFECT_ALLOW' as const])),
        validationErrors: [],
        outputs: [],
      })),
    }),
}

let harness = otelHarness()
afterEach(async () => {
  await harness.shutdown()
  harness = otelHarness()
})

describe('replay and revocation through the guard', () => {
  it('answers 401/503 with the reason in the audit record and the span', async () => {
    const ids = await createIdentityFixture({ services: ['employee-service', 'review-service'] })
    let checkFails = false
    const identity = createIdentityVerifier(
      ids.verifierOptions('review-service', {
        replay: {},
        revocation: {
          cacheTtlMs: 0,
          check: (token) => {
            if (checkFails) throw new Error('revocation service down')
            return token.kind === 'actor' && token.sub === 'ed'
          },
        },
      }),
    )
    const records: AuditRecord[] = []
    const audit = createAuditLog({ sinks: [functionSink((r) => void records.push(r))] })
    const telemetry = createTelemetry({ tracerProvider: harness.tracerProvider, meterProvider: harness.meterProvider })
    const guard = createGuard({ engine: allowAll, identity, service: 'review-service', audit, telemetry })
    const route = { resource: 'review', action: 'read', actor: 'required' as const }
    const view = (headers: Record<string, string>) => ({ method: 'GET', path: '/reviews/r1', route: '/reviews/:id', headers, params: { id: 'r1' }, request: {} })

    const alice = await ids.headers({ from: 'employee-service', to: 'review-service', actor: 'alice' })
    const status = async (headers: Record<string, string>): Promise<number> => {
      const outcome = await guard.authorize(view(headers), route)
      return outcome.ok ? 200 : outcome.status
    }
    expect(await status(alice)).toBe(200)
    expect(await status(alice)).toBe(401) // the same workload token again
    expect(await status(await ids.headers({ from: 'employee-service', to: 'review-service', actor: 'ed' }))).toBe(401)
    checkFails = true
    expect(await status(await ids.headers({ from: 'employee-service', to: 'review-service', actor: 'hana' }))).toBe(503)

    await audit.flush()
    expect(records.map((r) => [r.outcome, r.reason ?? null])).toEqual([
      ['allowed', null],
      ['unauthenticated', 'token_replayed'],
      ['unauthenticated', 'token_revoked'],
      ['error', 'revocation_unavailable'],
    ])
    const spans = harness.spans.getFinishedSpans()
    expect(spans.map((s) => [s.attributes[ATTR_AUTHZ_DECISION], s.attributes[ATTR_AUTHZ_REASON] ?? null])).toEqual([
      ['allowed', null],
      ['unauthenticated', 'token_replayed'],
      ['unauthenticated', 'token_revoked'],
      ['error', 'revocation_unavailable'],
    ])
  })
})
