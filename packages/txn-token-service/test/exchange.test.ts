import { createLocalJWKSet, jwtVerify } from 'jose'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { TOKEN_TYPES, TXN_TOKEN_TYP } from '../src/index.js'
import { serviceId, TRUST_DOMAIN, USER_ISSUER } from '../../../test/support/identity.js'
import { claimsOf, headerOf, startTts, type TtsFixture } from './support/tts.js'

describe('token exchange: an access token for a Txn-Token', () => {
  let tts: TtsFixture
  beforeAll(async () => {
    tts = await startTts()
  })
  afterAll(() => tts.close())

  it('issues a txntoken+jwt with the draft claims, verifiable with the published JWKS', async () => {
    const subject = await tts.userToken('alice')
    const form = await tts.form('gateway', subject, {
      request_context: JSON.stringify({ req_ip: '203.0.113.7', transport: 'https' }),
      request_details: JSON.stringify({ reviewId: 'r-42' }),
    })
    const { status, body } = await tts.post(form)
    expect(body).toMatchObject({ issued_token_type: TOKEN_TYPES.txnToken, token_type: 'N_A', expires_in: 300 })
    expect(status).toBe(200)
    expect(body).not.toHaveProperty('refresh_token')
    const token = String(body['access_token'])
    expect(headerOf(token)).toMatchObject({ typ: TXN_TOKEN_TYP, kid: 'tts-1', alg: 'ES256' })

    const jwks = (await (await fetch(`${tts.url}/.well-known/jwks.json`)).json()) as { keys: [] }
    const { payload } = await jwtVerify(token, createLocalJWKSet(jwks), { issuer: tts.url, audience: TRUST_DOMAIN, typ: TXN_TOKEN_TYP })
    expect(payload).toMatchObject({
      sub: 'alice',
      scope: 'review.read',
      req_wl: serviceId('gateway'),
      aud: TRUST_DOMAIN,
      tctx: { reviewId: 'r-42', user: { roles: ['employee', 'manager'], attr: { department: 'engineering' } } },
      rctx: { req_ip: '203.0.113.7', transport: 'https' },
    })
    expect(payload.txn).toMatch(/^[0-9a-f-]{36}$/)
    expect((payload.exp ?? 0) - (payload.iat ?? 0)).toBe(300)
  })

  it('gives every exchange a new txn', async () => {
    const subject = await tts.userToken('alice')
    const first = await tts.post(await tts.form('gateway', subject))
    const second = await tts.post(await tts.form('gateway', subject))
    expect(claimsOf(first.body['access_token'])['txn']).not.toBe(claimsOf(second.body['access_token'])['txn'])
  })

  it('audits the issuance with digests only', async () => {
    const subject = await tts.userToken('hana')
    const { body } = await tts.post(await tts.form('gateway', subject))
    await tts.audit.flush()
    const txn = claimsOf(body['access_token'])['txn']
    const record = tts.records.find((r) => r.transactionId === txn)
    expect(record).toMatchObject({
      kind: 'decision',
      outcome: 'allowed',
      resource: { kind: 'txn_token', id: txn },
      action: 'issue',
      workloadId: serviceId('gateway'),
      actorId: 'hana',
      policy: 'resource.txn_token.vdefault',
      metadata: { subject_token_type: 'access_token', subject_issuer: USER_ISSUER },
    })
    expect(JSON.stringify(record)).not.toContain(subject)
    expect(record?.tokenDigests?.actor).toMatch(/^sha256:/)
  })
})
