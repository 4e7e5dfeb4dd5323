/**
 * Two replicas of one Txn-Token Service (same issuer and keys, each its own server on loopback)
 * sharing a real redis-server (scripts/redis-server.mjs installs and starts it; a machine that
 * cannot fails this file, it never skips): single-use credentials are single-use across replicas,
 * the replacement cap is one cap, and a Redis that stops or stalls makes both answer 503 with
 * nothing issued.
 */
import type { AuditLog, AuditRecord } from '@meshguard/core'
import { signWpt, witIssuerSource, type WitSource } from '@meshguard/core/wimse'
import { createClient } from 'redis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { redisSharedState, TOKEN_TYPES } from '../../packages/txn-token-service/src/index.js'
import { startTts, type TtsFixture, type TtsReplica } from '../../packages/txn-token-service/test/support/tts.js'
import { startWitIssuer, TYPES, type WitFixture } from '../../packages/txn-token-service/test/support/wit.js'
import { startRedisServer } from '../../scripts/redis-server.mjs'
import { serviceId, TRUST_DOMAIN } from '../support/identity.js'

type Answer = { status: number; body: Record<string, unknown> }

/** A store timeout no answer of a working Redis reaches, however loaded this machine is. */
const PATIENT = 10_000

/** The answer's status, OAuth error and the reason of the audit record the replica wrote for it. */
async function outcome(answer: Answer, log: { records: AuditRecord[]; audit: AuditLog }): Promise<{ status: number; error: unknown; reason: unknown }> {
  await log.audit.flush()
  return { status: answer.status, error: answer.body['error'], reason: log.records.at(-1)?.reason }
}

function connect(url: string) {
  // No offline queue: while Redis is down, commands fail at once instead of waiting for it.
  return createClient({ url, disableOfflineQueue: true, socket: { reconnectStrategy: 50 } })
    .on('error', () => undefined)
    .connect()
}

describe('replicas sharing state in Redis', () => {
  let redisServer: Awaited<ReturnType<typeof startRedisServer>>
  let redis: Awaited<ReturnType<typeof connect>>
  let a: WitFixture
  let b: TtsReplica

  beforeAll(async () => {
    redisServer = await startRedisServer()
    redis = await connect(redisServer.url)
    a = await startWitIssuer({ maxReplacements: 2, sharedState: redisSharedState(redis, { timeoutMs: PATIENT }) })
    b = await a.replica()
  }, 600_000)
  afterAll(async () => {
    await b.close()
    await a.close()
    if (redis.isOpen) redis.destroy()
    await redisServer.stop()
  })

  const exchangeForm = async (): Promise<Record<string, string>> => a.form('gateway', await a.userToken('alice'))

  it('an assertion used at one replica is refused at the other', async () => {
    const form = await exchangeForm()
    expect((await a.post(form)).status).toBe(200)
    expect(await outcome(await b.post(form), b)).toEqual({ status: 401, error: 'invalid_client', reason: 'client_assertion_replayed' })
    const other = await exchangeForm()
    expect((await b.post(other)).status).toBe(200)
    expect(await outcome(await a.post(other), a)).toEqual({ status: 401, error: 'invalid_client', reason: 'client_assertion_replayed' })
  })

  it('of one assertion sent to both replicas at once, exactly one gets a token', async () => {
    for (let round = 0; round < 5; round++) {
      const form = await exchangeForm()
      const answers = await Promise.all([a.post(form), b.post(form), a.post(form), b.post(form)])
      expect(answers.filter((answer) => answer.status === 200)).toHaveLength(1)
      expect(answers.filter((answer) => answer.body['error'] === 'invalid_client')).toHaveLength(3)
    }
  })

  it('the replacement cap is one cap for all replicas', async () => {
    const { body } = await a.post(await exchangeForm())
    const original = String(body['access_token'])
    const replace = async (): Promise<Record<string, string>> =>
      a.form('employee-service', original, { subject_token_type: TOKEN_TYPES.txnToken, scope: 'review.read' })
    // maxReplacements is 2: one at each replica, then none at either.
    expect((await a.post(await replace())).status).toBe(200)
    expect((await b.post(await replace())).status).toBe(200)
    const third = await b.post(await replace())
    expect(await outcome(third, b)).toEqual({ status: 400, error: 'invalid_grant', reason: 'replacement_limit' })
    expect(third.body['access_token']).toBeUndefined()
    expect(await outcome(await a.post(await replace()), a)).toEqual({ status: 400, error: 'invalid_grant', reason: 'replacement_limit' })
  })

  it('a WIT proof or attestation assertion used at one replica is refused at the other', async () => {
    // A service-account token may be presented again; its proof may not.
    const attestation = await a.saToken('reviews', 'reviews')
    const { proof } = await a.proof(attestation)
    const request = { attestation_type: TYPES.kubernetes, attestation, proof }
    expect((await a.postWit(request)).status).toBe(200)
    expect(await outcome(await b.postJson('/wit', request), b)).toEqual({ status: 400, error: 'invalid_request', reason: 'proof_replayed' })
    expect((await b.postJson('/wit', await a.request(TYPES.kubernetes, attestation))).status).toBe(200)
    // A private_key_jwt attestation is single-use, whatever proof comes with it.
    const assertion = await a.clientAssertion()
    expect((await b.postJson('/wit', await a.request(TYPES.privateKeyJwt, assertion))).status).toBe(200)
    expect(await outcome(await a.postWit(await a.request(TYPES.privateKeyJwt, assertion)), a)).toEqual({
      status: 401,
      error: 'invalid_client',
      reason: 'client_assertion_replayed',
    })
  })

  it('keys are bounded and bound to the service: another issuer on the same Redis keeps its own ids', async () => {
    const other = await a.replica({ issuer: 'http://127.0.0.1:9' })
    try {
      const jti = `shared-${'x'.repeat(200)}`
      const here = await a.form('gateway', await a.userToken('alice'), { client_assertion: await a.assertion('gateway', { claims: { jti } }) })
      const there = await a.form('gateway', await a.userToken('alice'), {
        client_assertion: await a.assertion('gateway', { audience: other.service.tokenEndpoint, claims: { jti } }),
      })
      expect((await a.post(here)).status).toBe(200)
      // The same workload and jti at another service: a different key, so not a replay there.
      expect((await other.post(there)).status).toBe(200)
      expect((await other.post(there)).status).toBe(401)
    } finally {
      await other.close()
    }
    const keys = await redis.keys('*')
    expect(keys.length).toBeGreaterThan(0)
    // Whatever the ids hold (a 207-character jti above): the prefix and a SHA-256.
    for (const key of keys) expect(key).toMatch(/^meshguard:tts:[A-Za-z0-9_-]{43}$/)
  })

  it('a Redis that stalls past the timeout refuses with 503 and issues nothing', async () => {
    const impatient = await a.replica({ sharedState: redisSharedState(redis, { timeoutMs: 100 }) })
    try {
      const form = await exchangeForm()
      // Redis holds every client's commands for 2 s: past this replica's 100 ms timeout.
      await redis.sendCommand(['CLIENT', 'PAUSE', '2000', 'ALL'])
      const stalled = await impatient.post(form)
      expect(await outcome(stalled, impatient)).toEqual({ status: 503, error: 'temporarily_unavailable', reason: 'replay_store_unavailable' })
      expect(stalled.body['access_token']).toBeUndefined()
      // A replica that waits longer gets its answer once the pause ends. (The stalled SET still lands
      // then, so the refused assertion is spent too: a timeout never frees a credential.)
      expect((await b.post(await exchangeForm())).status).toBe(200)
    } finally {
      await impatient.close()
    }
  })

  it('with Redis stopped both replicas refuse with 503 and issue nothing', async () => {
    const form = await exchangeForm()
    const { body } = await a.post(form)
    const original = String(body['access_token'])
    await redisServer.stop()
    for (const [replica, log] of [
      [a, a],
      [b, b],
    ] as const) {
      const answer = await replica.post(await exchangeForm())
      expect(await outcome(answer, log)).toEqual({ status: 503, error: 'temporarily_unavailable', reason: 'replay_store_unavailable' })
      expect(answer.body['access_token']).toBeUndefined()
    }
    // The assertion spent before the outage stays spent: a store that cannot answer never says "new".
    expect((await b.post(form)).status).toBe(503)
    const replacement = await a.post(await a.form('employee-service', original, { subject_token_type: TOKEN_TYPES.txnToken, scope: 'review.read' }))
    expect(replacement.status).toBe(503)
    const wit = await b.postJson('/wit', await a.request(TYPES.kubernetes, await a.saToken('reviews', 'reviews')))
    expect(await outcome(wit, b)).toEqual({ status: 503, error: 'temporarily_unavailable', reason: 'replay_store_unavailable' })
    expect(wit.body['wit']).toBeUndefined()
  })
})

describe('replicas authenticating requesters by WIT and WPT, sharing state in Redis', () => {
  let redisServer: Awaited<ReturnType<typeof startRedisServer>>
  let redis: Awaited<ReturnType<typeof connect>>
  let witIssuer: WitFixture
  let source: WitSource
  let a: TtsFixture
  let b: TtsReplica
  const now = (): number => Math.floor(Date.now() / 1000)

  beforeAll(async () => {
    redisServer = await startRedisServer()
    redis = await connect(redisServer.url)
    witIssuer = await startWitIssuer({}, { lifetime: 600 })
    source = witIssuerSource({
      issuerUrl: witIssuer.url,
      attestationType: TYPES.jwtSvid,
      attestation: () => witIssuer.svid(serviceId('gateway'), { iat: now(), exp: now() + 300 }),
    })
    const workloadIssuers = [{ trustDomain: TRUST_DOMAIN, issuer: witIssuer.url, keys: { jwksUrl: `${witIssuer.url}/.well-known/wit-jwks.json` } }]
    a = await startTts({ trust: { workloads: [], workloadIssuers }, sharedState: redisSharedState(redis, { timeoutMs: PATIENT }) })
    b = await a.replica()
  }, 600_000)
  afterAll(async () => {
    await source.close?.()
    await b.close()
    await Promise.all([a.close(), witIssuer.close()])
    if (redis.isOpen) redis.destroy()
    await redisServer.stop()
  })

  it('a proof (WPT) accepted at one replica is refused at the other', async () => {
    const credential = await source.current()
    const headers = { 'workload-identity-token': credential.wit, authorization: `WPT ${signWpt(credential, { aud: a.service.tokenEndpoint, exp: now() + 60 })}` }
    const form = await a.form('gateway', await a.userToken('alice'), { client_assertion: undefined, client_assertion_type: undefined })
    expect((await a.post(form, headers)).status).toBe(200)
    expect(await outcome(await b.post(form, headers), b)).toEqual({ status: 401, error: 'invalid_client', reason: 'wpt_replay' })
  })

  it('with Redis stopped a WPT is refused with 503 and nothing is issued', async () => {
    await redisServer.stop()
    const credential = await source.current()
    const headers = { 'workload-identity-token': credential.wit, authorization: `WPT ${signWpt(credential, { aud: a.service.tokenEndpoint, exp: now() + 60 })}` }
    const answer = await b.post(await a.form('gateway', await a.userToken('alice'), { client_assertion: undefined, client_assertion_type: undefined }), headers)
    expect(await outcome(answer, b)).toEqual({ status: 503, error: 'temporarily_unavailable', reason: 'replay_store_unavailable' })
    expect(answer.body['access_token']).toBeUndefined()
  })
})
