/**
 * JWKS refresh and stale counters end to end: the real identity verifier fetches a workload's keys
 * from a JWKS endpoint on 127.0.0.1, its trust events feed core telemetry (`recordTrustEvents`), and
 * the in-memory metric reader sees `meshguard.jwks.refreshes` and `meshguard.jwks.stale`.
 */
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createIdentityVerifier, createTelemetry, type IdentityVerifierOptions } from '@meshguard/core'
import {
  ATTR_AUTHZ_OUTCOME,
  METRIC_JWKS_REFRESHES,
  METRIC_JWKS_STALE,
  recordTrustEvents,
} from '@meshguard/core/telemetry'
import { otelHarness } from '../../packages/core/test/telemetry/harness.js'
import { createIdentityFixture, type IdentityFixture } from '../support/identity.js'

let server: Server | undefined
let jwksUrl: string
let failing = false
let ids: IdentityFixture
const harness = otelHarness()

beforeAll(async () => {
  ids = await createIdentityFixture({ services: ['caller', 'api'] })
  const caller = ids.services['caller']!
  const jwks = createServer((_req, res) => {
    if (failing) {
      res.writeHead(503)
      res.end()
      return
    }
    res.writeHead(200, { 'content-type': 'application/json' })
    res.end(JSON.stringify({ keys: [caller.publicJwk] }))
  })
  server = jwks
  await new Promise<void>((resolve) => jwks.listen(0, '127.0.0.1', resolve))
  jwksUrl = `http://127.0.0.1:${(jwks.address() as AddressInfo).port}/jwks`
})

afterAll(async () => {
  server?.closeAllConnections()
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()))
  await harness.shutdown()
})

/** Polls the metric reader until `predicate` holds (trust events may be emitted after verify returns). */
async function eventually(predicate: () => Promise<boolean>): Promise<void> {
  const giveUp = Date.now() + 10_000 // a hang guard, not a performance threshold
  while (!(await predicate())) {
    if (Date.now() > giveUp) throw new Error('metric never appeared')
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
}

describe('JWKS metrics', () => {
  it('counts a successful refresh, then a failed refresh and stale keys served', async () => {
    const telemetry = createTelemetry({ meterProvider: harness.meterProvider })
    let now = Date.now()
    const caller = ids.services['caller']!
    const options: IdentityVerifierOptions = {
      ...ids.verifierOptions('api'),
      trust: {
        workloads: [{ issuer: caller.id, keys: { jwksUrl, cacheMaxAgeMs: 60_000, cooldownMs: 0 } }],
        onEvent: recordTrustEvents(telemetry),
        clock: () => now,
      },
    }
    const verifier = createIdentityVerifier(options)
    const headers = await ids.headers({ from: 'caller', to: 'api' })
    const caller1 = await verifier.verify(headers, { actor: 'optional' })
    expect(caller1.principal.id).toBe(caller.id)

    const refreshes = async (outcome: string): Promise<number> =>
      Number(
        (await harness.points(METRIC_JWKS_REFRESHES)).find((p) => p.attributes[ATTR_AUTHZ_OUTCOME] === outcome)?.value ?? 0,
      )
    await eventually(async () => (await refreshes('success')) === 1)

    // The endpoint goes down and the cache is past its age: keys are served stale, and both show.
    failing = true
    now += 61_000
    const caller2 = await verifier.verify(await ids.headers({ from: 'caller', to: 'api' }), { actor: 'optional' })
    expect(caller2.principal.id).toBe(caller.id)
    await eventually(async () => (await refreshes('failure')) >= 1)
    await eventually(async () => Number((await harness.points(METRIC_JWKS_STALE))[0]?.value ?? 0) >= 1)
    expect(await refreshes('success')).toBe(1)
  })
})
