import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { EmbeddedEngine } from '@meshguard/core'
import { TOKEN_TYPES } from '../src/index.js'
import { claimsOf, startTts, type TtsFixture } from './support/tts.js'

const ID_TOKEN_POLICY = `apiVersion: api.cerbos.dev/v1
resourcePolicy:
  resource: txn_token
  version: default
  rules:
    - actions: ['issue']
      effect: EFFECT_ALLOW
      roles: ['gateway']
      condition:
        match:
          expr: request.resource.attr.subjectTokenType in ["id_token", "jwt"]
`

describe('ID tokens and plain JWTs as subject tokens', () => {
  let tts: TtsFixture
  beforeAll(async () => {
    // The fixture's issuer, trusted for ID tokens and plain JWTs only; a policy that lets the edge exchange them.
    const engine = EmbeddedEngine.fromSources([{ file: 'txn_token.yaml', text: ID_TOKEN_POLICY }])
    tts = await startTts({ engine }, { tokenTypes: ['id_token', 'jwt'] })
  })
  afterAll(() => tts.close())

  const idToken = (header: Record<string, unknown>) => tts.ids.mintActorToken('alice', { claims: { scope: 'review.read' }, header })

  it('accepts an ID token without typ or with typ JWT', async () => {
    for (const typ of [undefined, 'JWT']) {
      const form = await tts.form('gateway', await idToken({ typ }), { subject_token_type: TOKEN_TYPES.idToken })
      const { status, body } = await tts.post(form)
      expect([status, body['error_description']]).toEqual([200, undefined])
      expect(claimsOf(body['access_token'])['sub']).toBe('alice')
    }
  })

  it('refuses an access token (typ at+jwt) presented as an ID token, and any token type the issuer is not trusted for', async () => {
    const accessToken = await idToken({})
    const asIdToken = await tts.post(await tts.form('gateway', accessToken, { subject_token_type: TOKEN_TYPES.idToken }))
    expect(asIdToken.body['error']).toBe('invalid_request')
    const asAccessToken = await tts.post(await tts.form('gateway', accessToken, { subject_token_type: TOKEN_TYPES.accessToken }))
    expect(asAccessToken.body['error']).toBe('invalid_request')
  })

  it('refuses a Txn-Token typ presented as a plain JWT', async () => {
    const form = await tts.form('gateway', await idToken({ typ: 'txntoken+jwt' }), { subject_token_type: TOKEN_TYPES.jwt })
    expect((await tts.post(form)).body['error']).toBe('invalid_request')
  })

  it('refuses a subject token over the size limit', async () => {
    const big = await tts.ids.mintActorToken('alice', { claims: { scope: 'review.read', pad: 'x'.repeat(9000) }, header: { typ: undefined } })
    const { status, body } = await tts.post(await tts.form('gateway', big, { subject_token_type: TOKEN_TYPES.idToken }))
    expect([status, body['error'], body['error_description']]).toEqual([400, 'invalid_request', 'subject_token is larger than 8192 bytes'])
  })
})
