/**
 * The sample identity provider is a real OAuth server: tokens come over HTTP from its token
 * endpoint and verify against the JWKS it publishes.
 */
import { createPublicKey, verify } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startIdp, type Idp } from '../../examples/idp/src/index.mjs'

let idp: Idp

beforeAll(async () => {
  idp = await startIdp()
})
afterAll(async () => {
  await idp.close()
})

const decode = (part: string): Record<string, unknown> =>
  JSON.parse(Buffer.from(part, 'base64url').toString('utf8')) as Record<string, unknown>

async function verifyWithPublishedKeys(token: string): Promise<Record<string, unknown>> {
  const [h = '', p = '', s = ''] = token.split('.')
  const header = decode(h)
  const { keys } = (await (await fetch(idp.jwksUri)).json()) as { keys: Array<Record<string, unknown>> }
  const jwk = keys.find((k) => k['kid'] === header['kid'])
  expect(jwk, 'kid is published in the JWKS').toBeDefined()
  expect(jwk?.['d'], 'no private key material is published').toBeUndefined()
  const key = createPublicKey({ key: jwk as never, format: 'jwk' })
  const ok = verify('sha256', Buffer.from(`${h}.${p}`), { key, dsaEncoding: 'ieee-p1363' }, Buffer.from(s, 'base64url'))
  expect(ok, 'ES256 signature verifies').toBe(true)
  expect(header).toMatchObject({ alg: 'ES256', typ: 'at+jwt' })
  return decode(p)
}

describe('examples/idp', () => {
  it('issues user access tokens carrying roles and department', async () => {
    const claims = await verifyWithPublishedKeys(await idp.userToken('alice'))
    expect(claims).toMatchObject({
      iss: idp.issuer,
      sub: 'alice',
      aud: idp.audience,
      client_id: 'demo-login',
      roles: ['employee', 'manager'],
      department: 'engineering',
    })
    expect(typeof claims['jti']).toBe('string')
    expect(Number(claims['exp'])).toBeGreaterThan(Number(claims['iat']))
  })

  it('issues a client-credentials token for the AI agent', async () => {
    const claims = await verifyWithPublishedKeys(await idp.agentToken('hr-reporting-agent'))
    expect(claims).toMatchObject({ sub: 'hr-reporting-agent', client_id: 'hr-reporting-agent', type: 'AI_AGENT', aud: idp.audience })
  })

  it('refuses unknown users and agents', async () => {
    await expect(idp.userToken('mallory')).rejects.toThrow(/invalid_grant/)
    await expect(idp.agentToken('rogue-agent')).rejects.toThrow(/unknown demo agent/)
  })

  it('refuses a wrong client secret at the token endpoint', async () => {
    const response = await fetch(`${idp.issuer}/token`, {
      method: 'POST',
      headers: {
        authorization: `Basic ${Buffer.from('hr-reporting-agent:wrong').toString('base64')}`,
        'content-type': 'application/x-www-form-urlencoded',
      },
      body: 'grant_type=client_credentials',
    })
    expect(response.status).toBe(401)
  })
})
