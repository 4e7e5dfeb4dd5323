/**
 * Opaque access tokens at the edge, introspected (RFC 7662) at a real oidc-provider on loopback:
 * cached for a bounded time, refused once the authorization server says they are inactive, failing
 * closed when it cannot be asked.
 */
import { generateKeyPairSync } from 'node:crypto'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import Provider from 'oidc-provider'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { MeshguardError } from '../../packages/core/src/errors.js'
import { createEdgeVerifier, type EdgeVerifierOptions, type IntrospectionOptions } from '../../packages/core/src/identity/index.js'
import { configOptionOf, rejectionOf } from '../support/failures.js'

const AUDIENCE = 'https://api.meshguard.example'
const AGENT = { id: 'hr-reporting-agent', secret: 'an-agent-secret-long-enough-for-tests' }
const EDGE = { id: 'edge-gateway', secret: 'an-edge-secret-long-enough-for-tests' }

describe('introspection of opaque access tokens at the edge', () => {
  let server: Server
  let issuer: string
  let introspections = 0

  beforeAll(async () => {
    const routes: { handler?: (req: IncomingMessage, res: ServerResponse) => void } = {}
    server = createServer((req, res) => {
      if (req.url === '/token/introspection') introspections++
      routes.handler?.(req, res)
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
    const signingKey = { ...generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'jwk' }), kid: 'as-1', alg: 'ES256', use: 'sig' }
    const client = (id: string, secret: string, grants: string[]) => ({
      client_id: id,
      client_secret: secret,
      grant_types: grants,
      redirect_uris: [],
      response_types: [],
      token_endpoint_auth_method: 'client_secret_basic',
      id_token_signed_response_alg: 'ES256',
    })
    const provider = new Provider(issuer, {
      clients: [client(AGENT.id, AGENT.secret, ['client_credentials']), client(EDGE.id, EDGE.secret, [])],
      jwks: { keys: [signingKey] },
      features: {
        devInteractions: { enabled: false },
        clientCredentials: { enabled: true },
        introspection: { enabled: true },
        revocation: { enabled: true },
        resourceIndicators: {
          enabled: true,
          defaultResource: () => AUDIENCE,
          useGrantedResource: () => true,
          getResourceServerInfo: () => ({ audience: AUDIENCE, scope: 'reports:read', accessTokenFormat: 'opaque', accessTokenTTL: 300 }),
        },
      },
      extraTokenClaims: () => ({ roles: ['ai_agent'] }),
    })
    routes.handler = provider.callback()
  })
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())))

  const basic = (id: string, secret: string): string => `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}`

  async function agentToken(): Promise<string> {
    const res = await fetch(`${issuer}/token`, {
      method: 'POST',
      headers: { authorization: basic(AGENT.id, AGENT.secret), 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'client_credentials', resource: AUDIENCE }).toString(),
    })
    const body = (await res.json()) as { access_token: string }
    return body.access_token
  }

  async function revoke(token: string): Promise<void> {
    const res = await fetch(`${issuer}/token/revocation`, {
      method: 'POST',
      headers: { authorization: basic(AGENT.id, AGENT.secret), 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ token }).toString(),
    })
    expect(res.status).toBe(200)
  }

  const edgeWith = (introspection: Partial<IntrospectionOptions> = {}, extra: Partial<EdgeVerifierOptions> = {}) =>
    createEdgeVerifier({
      trust: { workloads: [], actors: [{ issuer, audiences: [AUDIENCE] }] },
      introspection: { issuer, clientId: EDGE.id, clientSecret: EDGE.secret, ...introspection },
      ...extra,
    })

  const request = (token: string) => ({ method: 'GET', url: 'https://gateway.example/api/reports', headers: { authorization: `Bearer ${token}` } })
  const reason = (promise: Promise<unknown>): Promise<string> =>
    promise.then(
      () => 'accepted',
      (err: unknown) => (err as MeshguardError).reason,
    )

  it('accepts an active opaque token, as the actor the server names, and reuses the answer', async () => {
    const token = await agentToken()
    expect(token.split('.')).toHaveLength(1)
    const edge = edgeWith()
    const before = introspections
    const caller = await edge.verify(request(token))
    expect(caller.actor).toMatchObject({ id: AGENT.id, type: 'agent', roles: ['ai_agent'], issuer })
    expect(caller.token).toBe(token)
    await edge.verify(request(token))
    expect(introspections - before).toBe(1)
  })

  it('a token revoked at the server stops working once the cached answer is past cacheTtlMs', async () => {
    let now = Date.now()
    const edge = edgeWith({ cacheTtlMs: 10_000 }, { clock: () => now })
    const token = await agentToken()
    await edge.verify(request(token))
    await revoke(token)
    now += 9_999 // inside the bound: the cached answer stands
    expect(await reason(edge.verify(request(token)))).toBe('accepted')
    now += 1
    expect(await reason(edge.verify(request(token)))).toBe('token_inactive')
  })

  it('refuses a token the server does not know, and one for another audience', async () => {
    expect(await reason(edgeWith().verify(request('not-a-token-the-server-issued')))).toBe('token_inactive')
    const elsewhere = createEdgeVerifier({
      trust: { workloads: [], actors: [{ issuer, audiences: ['https://other.example'] }] },
      introspection: { issuer, clientId: EDGE.id, clientSecret: EDGE.secret },
    })
    expect(await reason(elsewhere.verify(request(await agentToken())))).toBe('aud_mismatch')
  })

  it('fails closed when the server cannot be asked or refuses the edge', async () => {
    const token = await agentToken()
    const wrongSecret = edgeWith({ clientSecret: 'not-the-secret' })
    const err = await rejectionOf(wrongSecret.verify(request(token)))
    expect([err.reason, err.httpStatus]).toEqual(['introspection_unavailable', 503])
    const down = edgeWith({ endpoint: 'http://127.0.0.1:1/introspect', timeoutMs: 2000 })
    expect(await reason(down.verify(request(token)))).toBe('introspection_unavailable')
  })

  it('uses an explicit endpoint the same way as the discovered one', async () => {
    const edge = edgeWith({ endpoint: `${issuer}/token/introspection`, cacheTtlMs: 0 })
    const token = await agentToken()
    const before = introspections
    await edge.verify(request(token))
    await edge.verify(request(token))
    expect(introspections - before).toBe(2)
  })

  it('refuses unusable options at start-up', () => {
    const optionOf = (introspection: Partial<IntrospectionOptions>): string => configOptionOf(() => edgeWith(introspection))
    expect(optionOf({ issuer: 'https://untrusted.example' })).toBe('edge.introspection.issuer')
    expect(optionOf({ clientId: '' })).toBe('edge.introspection.clientId')
    expect(optionOf({ endpoint: 'http://as.example/introspect' })).toBe('edge.introspection.endpoint')
    expect(optionOf({ cacheTtlMs: -1 })).toBe('edge.introspection.cacheTtlMs')
  })
})
