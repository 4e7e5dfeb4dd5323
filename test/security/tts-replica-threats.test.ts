/**
 * Threats to a Txn-Token Service run as several replicas (T69–T71): single-use credentials and the
 * replacement cap must hold for the deployment, not per replica, and the shared state failing must
 * never let a credential through unrecorded. Two replicas (same issuer, keys and options, each its
 * own server) over real HTTP on loopback share stores in this process; the same over a real Redis
 * is test/txn-token-service/shared-state-redis.test.ts.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { AuditLog, AuditRecord } from '@meshguard/core'
import { createMemoryCounterStore, redisSharedState, TOKEN_TYPES, type ReplayStore, type TxnTokenSharedState } from '../../packages/txn-token-service/src/index.js'
import { signWpt, witIssuerSource } from '@meshguard/core/wimse'
import { startTts, type TtsReplica } from '../../packages/txn-token-service/test/support/tts.js'
import { startWitIssuer, TYPES, type WitFixture } from '../../packages/txn-token-service/test/support/wit.js'
import { serviceId, TRUST_DOMAIN } from '../support/identity.js'

const now = (): number => Math.floor(Date.now() / 1000)

/** One store of used ids for every replica (what Redis is to replicas on several machines). */
function sharedReplayStore(): ReplayStore {
  const used = new Map<string, number>()
  return {
    consume: (key, expiresAtMs, nowMs) => {
      if ((used.get(key) ?? 0) > nowMs) return Promise.resolve(false)
      used.set(key, expiresAtMs)
      return Promise.resolve(true)
    },
  }
}

type Answer = { status: number; body: Record<string, unknown> }

/** The answer's status, error, and the reason in the audit record the replica wrote. */
async function refusal(answer: Answer, log: { records: AuditRecord[]; audit: AuditLog }): Promise<{ status: number; error: unknown; reason: unknown; issued: boolean }> {
  await log.audit.flush()
  const issued = answer.body['access_token'] !== undefined || answer.body['wit'] !== undefined
  return { status: answer.status, error: answer.body['error'], reason: log.records.at(-1)?.reason, issued }
}

describe('Txn-Token Service replica threats', () => {
  let a: WitFixture
  let b: TtsReplica
  beforeAll(async () => {
    const sharedState: TxnTokenSharedState = { replay: sharedReplayStore(), counters: createMemoryCounterStore() }
    a = await startWitIssuer({ maxReplacements: 1, sharedState })
    b = await a.replica()
  })
  afterAll(async () => {
    await b.close()
    await a.close()
  })

  it('T69 a single-use credential replayed to another replica is refused there', async () => {
    const form = await a.form('gateway', await a.userToken('alice'))
    expect((await a.post(form)).status).toBe(200)
    expect(await refusal(await b.post(form), b)).toEqual({ status: 401, error: 'invalid_client', reason: 'client_assertion_replayed', issued: false })
    const attestation = await a.saToken('reviews', 'reviews')
    const request = { attestation_type: TYPES.kubernetes, attestation, proof: (await a.proof(attestation)).proof }
    expect((await b.postJson('/wit', request)).status).toBe(200)
    expect(await refusal(await a.postWit(request), a)).toEqual({ status: 400, error: 'invalid_request', reason: 'proof_replayed', issued: false })
  })

  it('T69 a WPT (WIMSE client authentication) replayed to another replica is refused there', async () => {
    // Replicas that authenticate requesters by the WITs of `a`'s issuer.
    const source = witIssuerSource({
      issuerUrl: a.url,
      attestationType: TYPES.jwtSvid,
      attestation: () => a.svid(serviceId('gateway'), { iat: now(), exp: now() + 300 }),
    })
    const workloadIssuers = [{ trustDomain: TRUST_DOMAIN, issuer: a.url, keys: { jwksUrl: `${a.url}/.well-known/wit-jwks.json` } }]
    const first = await startTts({ trust: { workloads: [], workloadIssuers }, sharedState: { replay: sharedReplayStore(), counters: createMemoryCounterStore() } })
    const second = await first.replica()
    try {
      const credential = await source.current()
      const headers = { 'workload-identity-token': credential.wit, authorization: `WPT ${signWpt(credential, { aud: first.service.tokenEndpoint, exp: now() + 60 })}` }
      const form = await first.form('gateway', await first.userToken('alice'), { client_assertion: undefined, client_assertion_type: undefined })
      expect((await first.post(form, headers)).status).toBe(200)
      expect(await refusal(await second.post(form, headers), second)).toEqual({ status: 401, error: 'invalid_client', reason: 'wpt_replay', issued: false })
    } finally {
      await source.close?.()
      await second.close()
      await first.close()
    }
  })

  it('T70 replacements spread over replicas count against one cap', async () => {
    const original = String((await a.post(await a.form('gateway', await a.userToken('alice')))).body['access_token'])
    const replace = async (): Promise<Record<string, string>> =>
      a.form('employee-service', original, { subject_token_type: TOKEN_TYPES.txnToken, scope: 'review.read' })
    expect((await a.post(await replace())).status).toBe(200)
    // maxReplacements is 1: the other replica has seen none itself, and still refuses.
    expect(await refusal(await b.post(await replace()), b)).toEqual({ status: 400, error: 'invalid_grant', reason: 'replacement_limit', issued: false })
  })

  it('T71 shared state that is down or silent refuses with 503 and issues nothing', async () => {
    // A Redis that never answers: the stores give up after their timeout.
    const silent = redisSharedState({ sendCommand: () => new Promise(() => undefined) }, { timeoutMs: 50 })
    const stalled = await a.replica({ sharedState: silent })
    const down = await a.replica({
      sharedState: { replay: sharedReplayStore(), counters: { increment: () => Promise.reject(new Error('counter store down')) } },
    })
    try {
      expect(await refusal(await stalled.post(await a.form('gateway', await a.userToken('alice'))), stalled)).toEqual({
        status: 503,
        error: 'temporarily_unavailable',
        reason: 'replay_store_unavailable',
        issued: false,
      })
      const wit = await stalled.postJson('/wit', await a.request(TYPES.kubernetes, await a.saToken('reviews', 'reviews')))
      expect(await refusal(wit, stalled)).toEqual({ status: 503, error: 'temporarily_unavailable', reason: 'replay_store_unavailable', issued: false })
      const original = String((await down.post(await a.form('gateway', await a.userToken('alice')))).body['access_token'])
      const replacement = await down.post(await a.form('employee-service', original, { subject_token_type: TOKEN_TYPES.txnToken, scope: 'review.read' }))
      expect(await refusal(replacement, down)).toEqual({ status: 503, error: 'temporarily_unavailable', reason: 'replacement_store_unavailable', issued: false })
    } finally {
      await stalled.close()
      await down.close()
    }
  })
})
