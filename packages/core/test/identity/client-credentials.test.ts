import { generateKeyPairSync } from 'node:crypto'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import Provider from 'oidc-provider'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { MintError } from '../../src/errors.js'
import { clientCredentialsSource, createIdentityVerifier, createWorkloadIdentity } from '../../src/identity/index.js'
import { serviceId } from '../../../../test/support/identity.js'
import { rejectionOf } from '../../../../test/support/failures.js'

const AGENT_ID = serviceId('ai-reporting-agent')
const CALLEE = serviceId('review-service')
const SECRET = 'a-long-enough-client-secret-for-tests'

/** A real OAuth 2.0 authorization server (oidc-provider) on loopback issuing `at+jwt` client-credentials tokens. */
describe('clientCredentialsSource against oidc-provider on loopback', () => {
  let server: Server
  let issuer: string
  let tokenRequests = 0

  beforeAll(async () => {
    // The provider needs its issuer URL (with the port) before it can handle requests.
    const routes: { handler?: (req: IncomingMessage, res: ServerResponse) => void } = {}
    server = createServer((req, res) => {
      if (req.url?.startsWith('/token')) tokenRequests++
      routes.handler?.(req, res)
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
    const signingKey = { ...generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'jwk' }), kid: 'as-1', alg: 'ES256', use: 'sig' }
    const provider = new Provider(issuer, {
      clients: [
        {
          client_id: AGENT_ID,
          client_secret: SECRET,
          grant_types: ['client_credentials'],
          redirect_uris: [],
          response_types: [],
          token_endpoint_auth_method: 'client_secret_basic',
          id_token_signed_response_alg: 'ES256',
        },
      ],
      jwks: { keys: [signingKey] },
      features: {
        devInteractions: { enabled: false },
        clientCredentials: { enabled: true },
        resourceIndicators: {
          enabled: true,
          getResourceServerInfo: (_ctx: unknown, resource: string) => ({
            scope: 'reports:read',
            audience: resource,
            accessTokenFormat: 'jwt',
            accessTokenTTL: 300,
            jwt: { sign: { alg: 'ES256' } },
          }),
        },
      },
    })
    routes.handler = provider.callback()
  })
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())))

  it('obtains an at+jwt per callee that the callee verifies, cached until shortly before expiry', async () => {
    let now = Date.now()
    const identity = createWorkloadIdentity({
      id: AGENT_ID,
      source: clientCredentialsSource({ tokenEndpoint: `${issuer}/token`, clientId: AGENT_ID, clientSecret: SECRET }),
      clock: () => now,
    })
    const verifier = createIdentityVerifier({
      audience: CALLEE,
      trust: {
        workloads: [
          { issuer, identities: [AGENT_ID], keys: { jwksUrl: `${issuer}/jwks` }, typ: ['at+jwt'], requireActorBinding: false },
        ],
      },
    })
    const before = tokenRequests
    const headers = await identity.headersFor({ audience: CALLEE })
    const header: unknown = JSON.parse(Buffer.from((headers['authorization'] ?? '').split(' ')[1]?.split('.')[0] ?? '', 'base64url').toString())
    expect(header).toHaveProperty('typ', 'at+jwt')
    const caller = await verifier.verify(headers)
    expect(caller.workload.id).toBe(AGENT_ID)
    expect(caller.workload.issuer).toBe(issuer)
    expect(caller.workload.claims['client_id']).toBe(AGENT_ID)

    await identity.headersFor({ audience: CALLEE })
    expect(tokenRequests - before).toBe(1)
    now += 250_000 // 300 s token, refreshed 60 s before expiry
    const refreshed = await identity.headersFor({ audience: CALLEE })
    expect(tokenRequests - before).toBe(2)
    expect(refreshed['authorization']).not.toBe(headers['authorization'])
  })

  it('a token minted for one callee is refused at another', async () => {
    const identity = createWorkloadIdentity({
      id: AGENT_ID,
      source: clientCredentialsSource({ tokenEndpoint: `${issuer}/token`, clientId: AGENT_ID, clientSecret: SECRET }),
    })
    const other = serviceId('payments')
    const verifier = createIdentityVerifier({
      audience: other,
      trust: { workloads: [{ issuer, identities: [AGENT_ID], keys: { jwksUrl: `${issuer}/jwks` }, typ: ['at+jwt'] }] },
    })
    const err = await rejectionOf(verifier.verify(await identity.headersFor({ audience: CALLEE })))
    expect(err.reason).toBe('aud_mismatch')
  })

  it('turns a refused client into a MintError without echoing the secret', async () => {
    const identity = createWorkloadIdentity({
      id: AGENT_ID,
      source: clientCredentialsSource({ tokenEndpoint: `${issuer}/token`, clientId: AGENT_ID, clientSecret: 'wrong-secret' }),
    })
    const err = await rejectionOf(identity.headersFor({ audience: CALLEE }))
    expect(err).toBeInstanceOf(MintError)
    expect(err.reason).toBe('token_endpoint_rejected')
    expect(err.message).toContain('invalid_client')
    expect(err.message).not.toContain('wrong-secret')
  })

  it('reports an unreachable token endpoint as a MintError', async () => {
    const identity = createWorkloadIdentity({
      id: AGENT_ID,
      source: clientCredentialsSource({ tokenEndpoint: 'http://127.0.0.1:1/token', clientId: AGENT_ID, clientSecret: SECRET, timeoutMs: 500 }),
    })
    const err = await rejectionOf(identity.headersFor({ audience: CALLEE }))
    expect(err.reason).toBe('token_endpoint_unavailable')
  })
})
