/**
 * WIMSE client authentication at the token endpoint, over real HTTP on loopback: a Txn-Token Service
 * that trusts one workload issuer (`trust.workloadIssuers`) and holds no requesting workload's key
 * authenticates the gateway by its WIT and a proof made for the token endpoint, and refuses every
 * proof that is replayed, made for another endpoint, unbound, or sent beside a client assertion.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTxnTokenExchange, type TxnTokenExchange } from '@meshguard/core/txn-tokens'
import { signWpt, witIssuerSource, type WitSource, type WorkloadCredential } from '@meshguard/core/wimse'
import { startTts, claimsOf, type TtsFixture } from '../../packages/txn-token-service/test/support/tts.js'
import { startWitIssuer, TYPES, type WitFixture } from '../../packages/txn-token-service/test/support/wit.js'
import { serviceId, TRUST_DOMAIN } from '../support/identity.js'

const GATEWAY = serviceId('gateway')
const now = (): number => Math.floor(Date.now() / 1000)

let issuer: WitFixture
let tts: TtsFixture
let keyOnly: TtsFixture
let source: WitSource
let exchange: TxnTokenExchange

beforeAll(async () => {
  issuer = await startWitIssuer({}, { lifetime: 600 })
  source = witIssuerSource({
    issuerUrl: issuer.url,
    attestationType: TYPES.jwtSvid,
    attestation: () => issuer.svid(GATEWAY, { iat: now(), exp: now() + 300 }),
  })
  // No workload anchors at all: the WIT issuer's key set is the only workload trust.
  tts = await startTts({ trust: { workloads: [], workloadIssuers: [{ trustDomain: TRUST_DOMAIN, issuer: issuer.url, keys: { jwksUrl: `${issuer.url}/.well-known/wit-jwks.json` } }] } })
  keyOnly = await startTts()
  exchange = createTxnTokenExchange({ tokenEndpoint: tts.service.tokenEndpoint, trustDomain: TRUST_DOMAIN, clientId: GATEWAY, wit: source })
})

/** Closes what beforeAll started: it may have failed before starting everything. */
async function closeStarted(started: { close?: (() => void | Promise<void>) | undefined } | undefined): Promise<void> {
  await started?.close?.()
}

afterAll(async () => {
  await closeStarted(source)
  await Promise.all([closeStarted(tts), closeStarted(keyOnly), closeStarted(issuer)])
})

/** The exchange form without client authentication. */
async function bareForm(fixture: TtsFixture): Promise<Record<string, string>> {
  return fixture.form('gateway', await fixture.userToken('alice'), { client_assertion: undefined, client_assertion_type: undefined })
}

/** WIMSE headers for `endpoint` (the token endpoint unless told otherwise). */
function proofHeaders(credential: WorkloadCredential, endpoint: string, claims: Record<string, unknown> = {}): { 'workload-identity-token': string; authorization: string } {
  return { 'workload-identity-token': credential.wit, authorization: `WPT ${signWpt(credential, { aud: endpoint, exp: now() + 60, ...claims })}` }
}

async function lastReason(fixture: TtsFixture): Promise<string | undefined> {
  await fixture.audit.flush()
  return fixture.records.at(-1)?.reason
}

describe('a Txn-Token Service that trusts a workload issuer', () => {
  it('issues to a workload that proves its WIT, with the WIT subject as req_wl', async () => {
    const issued = await exchange.exchange({ subjectToken: await tts.userToken('alice'), scope: ['review.read'] })
    expect(claimsOf(issued.token)).toMatchObject({ req_wl: GATEWAY, sub: 'alice', aud: TRUST_DOMAIN, scope: 'review.read' })
    // Each exchange brings a new proof: the second is not a replay.
    await exchange.exchange({ subjectToken: await tts.userToken('alice'), scope: ['review.read'] })
  })

  it('accepts each proof once', async () => {
    const headers = proofHeaders(await source.current(), tts.service.tokenEndpoint)
    expect((await tts.post(await bareForm(tts), headers)).status).toBe(200)
    const again = await tts.post(await bareForm(tts), headers)
    expect([again.status, again.body['error']]).toEqual([401, 'invalid_client'])
    expect(await lastReason(tts)).toBe('wpt_replay')
  })

  it('refuses a proof made for another endpoint, answering with the WPT scheme', async () => {
    const response = await fetch(tts.service.tokenEndpoint, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', ...proofHeaders(await source.current(), keyOnly.service.tokenEndpoint) },
      body: new URLSearchParams(await bareForm(tts)),
    })
    expect([response.status, ((await response.json()) as Record<string, unknown>)['error']]).toEqual([401, 'invalid_client'])
    expect(response.headers.get('www-authenticate')).toBe('WPT')
    expect(await lastReason(tts)).toBe('wpt_aud')
  })

  it('refuses a proof bound to another WIT, or without its WIT', async () => {
    const credential = await source.current()
    const unbound = proofHeaders(credential, tts.service.tokenEndpoint, {})
    unbound['workload-identity-token'] = (await issuer.postWit(await issuer.request(TYPES.jwtSvid, await issuer.svid(GATEWAY, { iat: now(), exp: now() + 300 })))).body['wit'] as string
    expect((await tts.post(await bareForm(tts), unbound)).status).toBe(401)
    expect(await lastReason(tts)).toBe('wpt_invalid')
    const { authorization } = proofHeaders(credential, tts.service.tokenEndpoint)
    expect((await tts.post(await bareForm(tts), { authorization })).status).toBe(401)
    expect(await lastReason(tts)).toBe('wit_missing')
  })

  it('refuses a request that authenticates twice (an assertion beside the proof)', async () => {
    const form = await tts.form('gateway', await tts.userToken('alice'))
    const answer = await tts.post(form, proofHeaders(await source.current(), tts.service.tokenEndpoint))
    expect([answer.status, answer.body['error']]).toEqual([400, 'invalid_request'])
    expect(await lastReason(tts)).toBe('client_authentication_ambiguous')
  })

  it('holds no workload key: a client assertion of the gateway is refused', async () => {
    const answer = await tts.post(await tts.form('gateway', await tts.userToken('alice')))
    expect([answer.status, answer.body['error']]).toEqual([401, 'invalid_client'])
  })
})

describe('a Txn-Token Service that trusts no workload issuer', () => {
  it('refuses WIMSE client authentication and still takes assertions', async () => {
    const answer = await keyOnly.post(await bareForm(keyOnly), proofHeaders(await source.current(), keyOnly.service.tokenEndpoint))
    expect([answer.status, answer.body['error']]).toEqual([401, 'invalid_client'])
    expect(await lastReason(keyOnly)).toBe('client_authentication_method')
    expect((await keyOnly.post(await keyOnly.form('gateway', await keyOnly.userToken('alice')))).status).toBe(200)
  })

  it('refuses a Bearer authorization header as before', async () => {
    const answer = await keyOnly.post(await keyOnly.form('gateway', await keyOnly.userToken('alice')), { authorization: 'Bearer abc' })
    expect([answer.status, answer.body['error']]).toEqual([401, 'invalid_client'])
    expect(await lastReason(keyOnly)).toBe('client_authentication_method')
  })
})
