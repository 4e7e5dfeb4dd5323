import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { TOKEN_TYPES } from '../src/index.js'
import { serviceId } from '../../../test/support/identity.js'
import { startTts, type TtsFixture } from './support/tts.js'

/** Every refusal is an RFC 6749 JSON error with its status, and an audit record. */
describe('token exchange refusals', () => {
  let tts: TtsFixture
  beforeAll(async () => {
    tts = await startTts()
  })
  afterAll(() => tts.close())

  const refused = async (form: Record<string, string> | string, error: string, status: number, headers?: Record<string, string>) => {
    const before = tts.records.length
    const answer = await tts.post(form, headers)
    expect(answer.body['error']).toBe(error)
    expect(answer.status).toBe(status)
    expect(typeof answer.body['error_description']).toBe('string')
    expect(Object.keys(answer.body).sort()).toEqual(['error', 'error_description'])
    await tts.audit.flush()
    expect(tts.records.length).toBe(before + 1)
    return tts.records.at(-1)
  }

  describe('client authentication (invalid_client, 401)', () => {
    it('requires an assertion', async () => {
      const form = await tts.form('gateway', await tts.userToken('alice'), { client_assertion: undefined, client_assertion_type: undefined })
      const record = await refused(form, 'invalid_client', 401)
      expect(record).toMatchObject({ kind: 'auth_failure', outcome: 'unauthenticated', reason: 'client_authentication_missing' })
    })
    it('refuses another assertion type', async () => {
      await refused(await tts.form('gateway', await tts.userToken('alice'), { client_assertion_type: 'urn:example:other' }), 'invalid_client', 401)
    })
    it('refuses an assertion for another audience', async () => {
      const form = await tts.form('gateway', await tts.userToken('alice'), { client_assertion: await tts.assertion('gateway', { audience: 'https://elsewhere.example' }) })
      expect((await refused(form, 'invalid_client', 401))?.reason).toBe('aud_mismatch')
    })
    it('refuses a replayed assertion', async () => {
      const form = await tts.form('gateway', await tts.userToken('alice'))
      expect((await tts.post(form)).status).toBe(200)
      expect((await refused(form, 'invalid_client', 401))?.reason).toBe('client_assertion_replayed')
    })
    it('refuses an assertion without jti', async () => {
      const form = await tts.form('gateway', await tts.userToken('alice'), { client_assertion: await tts.assertion('gateway', { claims: { jti: undefined } }) })
      expect((await refused(form, 'invalid_client', 401))?.reason).toBe('client_assertion_jti')
    })
    it('refuses an assertion signed with another workload key', async () => {
      const forged = await tts.ids.mintWorkloadToken('orders', {
        audience: tts.service.tokenEndpoint,
        claims: { iss: serviceId('gateway'), sub: serviceId('gateway') },
      })
      await refused(await tts.form('gateway', await tts.userToken('alice'), { client_assertion: forged }), 'invalid_client', 401)
    })
    it('refuses a client_id that is not the assertion subject', async () => {
      await refused(await tts.form('gateway', await tts.userToken('alice'), { client_id: serviceId('orders') }), 'invalid_client', 401)
    })
    it('refuses other client authentication methods', async () => {
      await refused(await tts.form('gateway', await tts.userToken('alice')), 'invalid_client', 401, { authorization: 'Basic Z2F0ZXdheTpzZWNyZXQ=' })
    })
  })

  describe('the request (invalid_request, unsupported_grant_type, invalid_target, invalid_scope)', () => {
    it('refuses another grant type', async () => {
      await refused(await tts.form('gateway', await tts.userToken('alice'), { grant_type: 'client_credentials' }), 'unsupported_grant_type', 400)
    })
    it('refuses a missing grant type', async () => {
      await refused(await tts.form('gateway', await tts.userToken('alice'), { grant_type: undefined }), 'invalid_request', 400)
    })
    it('refuses another requested token type', async () => {
      await refused(await tts.form('gateway', await tts.userToken('alice'), { requested_token_type: TOKEN_TYPES.accessToken }), 'invalid_request', 400)
    })
    it('refuses an audience that is not the trust domain', async () => {
      await refused(await tts.form('gateway', await tts.userToken('alice'), { audience: 'other.example' }), 'invalid_target', 400)
    })
    it('requires scope', async () => {
      await refused(await tts.form('gateway', await tts.userToken('alice'), { scope: undefined }), 'invalid_request', 400)
    })
    it('refuses an unknown subject token type', async () => {
      await refused(await tts.form('gateway', await tts.userToken('alice'), { subject_token_type: 'urn:ietf:params:oauth:token-type:refresh_token' }), 'invalid_request', 400)
    })
    it('refuses actor_token (removed from the profile)', async () => {
      await refused(await tts.form('gateway', await tts.userToken('alice'), { actor_token: 'a.b.c', actor_token_type: TOKEN_TYPES.jwt }), 'invalid_request', 400)
    })
    it('refuses a repeated parameter', async () => {
      const form = new URLSearchParams(await tts.form('gateway', await tts.userToken('alice')))
      form.append('scope', 'review.write')
      await refused(form.toString(), 'invalid_request', 400)
    })
    it('refuses request_details that set tctx.user', async () => {
      await refused(await tts.form('gateway', await tts.userToken('alice'), { request_details: '{"user":{"roles":["admin"]}}' }), 'invalid_request', 400)
    })
    it('refuses request_context that is not a JSON object', async () => {
      await refused(await tts.form('gateway', await tts.userToken('alice'), { request_context: '[1,2]' }), 'invalid_request', 400)
      await refused(await tts.form('gateway', await tts.userToken('alice'), { request_context: '{"a":' }), 'invalid_request', 400)
    })
  })

  describe('the subject token', () => {
    it('refuses a bad signature', async () => {
      const token = await tts.userToken('alice')
      const [h, p, s] = token.split('.') as [string, string, string]
      const sig = Buffer.from(s, 'base64url')
      sig[3] = (sig[3] ?? 0) ^ 1
      const record = await refused(await tts.form('gateway', `${h}.${p}.${sig.toString('base64url')}`), 'invalid_request', 400)
      expect(record?.reason).toBe('subject_token_invalid')
    })
    it('refuses an expired token', async () => {
      const expired = await tts.ids.mintActorToken('alice', { claims: { scope: 'review.read' }, now: Math.floor(Date.now() / 1000) - 1000, lifetime: 600 })
      expect((await refused(await tts.form('gateway', expired), 'invalid_request', 400))?.reason).toBe('subject_token_expired')
    })
    it('refuses an untrusted issuer', async () => {
      const token = await tts.ids.mintActorToken('alice', { claims: { scope: 'review.read', iss: 'https://evil.example' } })
      expect((await refused(await tts.form('gateway', token), 'invalid_request', 400))?.reason).toBe('subject_issuer_unknown')
    })
    it('refuses a token type the issuer is not trusted for', async () => {
      const form = await tts.form('gateway', await tts.userToken('alice'), { subject_token_type: TOKEN_TYPES.idToken })
      expect((await refused(form, 'invalid_request', 400))?.reason).toBe('subject_token_type_not_allowed')
    })
    it('refuses a workload token presented as an access token (explicit typing)', async () => {
      const token = await tts.ids.mintActorToken('alice', { claims: { scope: 'review.read' }, header: { typ: 'workload+jwt' } })
      expect((await refused(await tts.form('gateway', token), 'invalid_request', 400))?.reason).toBe('subject_token_typ')
    })
  })

  describe('scope narrowing (invalid_scope)', () => {
    it('refuses a scope wider than the subject token allows', async () => {
      const form = await tts.form('gateway', await tts.userToken('alice', 'review.read'), { scope: 'review.read review.write' })
      expect((await refused(form, 'invalid_scope', 400))?.reason).toBe('scope_too_wide')
    })
    it('refuses when the subject token states no scope', async () => {
      const token = await tts.ids.mintActorToken('alice')
      expect((await refused(await tts.form('gateway', token), 'invalid_scope', 400))?.reason).toBe('subject_scope_unknown')
    })
  })

  describe('the issuance policy (unauthorized_client)', () => {
    it('refuses a workload the policy does not allow', async () => {
      const record = await refused(await tts.form('orders', await tts.userToken('alice')), 'unauthorized_client', 400)
      expect(record).toMatchObject({ kind: 'decision', outcome: 'denied', effect: 'EFFECT_DENY', workloadId: serviceId('orders') })
    })
    it('refuses a purpose the policy does not allow the edge', async () => {
      const form = await tts.form('gateway', await tts.userToken('alice', 'payroll.read'), { scope: 'payroll.read' })
      await refused(form, 'unauthorized_client', 400)
    })
  })

  describe('transport', () => {
    it('refuses a body over the limit with 413', async () => {
      const form = await tts.form('gateway', await tts.userToken('alice'), { request_details: JSON.stringify({ pad: 'x'.repeat(40_000) }) })
      await refused(form, 'invalid_request', 413)
    })
    it('refuses a body that is not a form with 415', async () => {
      await refused('{"grant_type":"x"}', 'invalid_request', 415, { 'content-type': 'application/json' })
    })
    it('answers GET on the token endpoint with 405 and unknown paths with 404', async () => {
      const get = await fetch(tts.service.tokenEndpoint)
      expect(get.status).toBe(405)
      expect(get.headers.get('allow')).toBe('POST')
      const missing = await fetch(`${tts.url}/nothing-here`)
      expect(missing.status).toBe(404)
      expect(await missing.json()).toMatchObject({ error: 'invalid_request' })
    })
    it('serves the metadata document', async () => {
      const metadata = (await (await fetch(`${tts.url}/.well-known/oauth-authorization-server`)).json()) as Record<string, unknown>
      expect(metadata).toMatchObject({ issuer: tts.url, token_endpoint: tts.service.tokenEndpoint, jwks_uri: tts.service.jwksUri })
    })
  })
})
