/**
 * The Txn-Token Service over real HTTP on loopback with a real oidc-provider: the provider issues
 * the subject access tokens (keys found through OIDC discovery), and the service runs both
 * standalone and mounted on that provider as its token-exchange grant.
 */
import { createPublicKey, generateKeyPairSync, randomBytes, verify } from 'node:crypto'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import Provider from 'oidc-provider'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { EmbeddedEngine } from '@meshguard/core'
import {
  createTxnTokenService,
  JWT_BEARER_ASSERTION_TYPE,
  mountTxnTokenGrant,
  TOKEN_EXCHANGE_GRANT_TYPE,
  TOKEN_TYPES,
  TXN_TOKEN_SERVICE_PATHS,
  TXN_TOKEN_TYP,
  type TxnTokenService,
  type TxnTokenServiceOptions,
} from '@meshguard/txn-token-service'
import { createIdentityFixture, serviceId, TRUST_DOMAIN, type IdentityFixture } from '../support/identity.js'
import { POLICY_DIR } from '../../packages/txn-token-service/test/support/tts.js'

const API = 'https://api.example.org'
const AGENT = { clientId: 'hr-agent', secret: 'a-long-enough-client-secret-for-tests' }

interface Loopback {
  server: Server
  url: string
  route(handler: (req: IncomingMessage, res: ServerResponse) => void): void
}

/** Binds first: issuer URLs hold the port. */
async function loopback(): Promise<Loopback> {
  let handler: (req: IncomingMessage, res: ServerResponse) => void = (_req, res) => res.writeHead(503).end()
  const server = createServer((req, res) => handler(req, res))
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, route: (h) => (handler = h) }
}

/** Verifies an EdDSA compact JWS with a key of the JWKS at `jwksUri` (node:crypto, independent of the service). */
async function verifiedParts(token: string, jwksUri: string): Promise<{ header: Record<string, unknown>; payload: Record<string, unknown> }> {
  const [h, p, s] = token.split('.') as [string, string, string]
  const header = JSON.parse(Buffer.from(h, 'base64url').toString()) as Record<string, unknown>
  const jwks = (await (await fetch(jwksUri)).json()) as { keys: Array<{ kid: string }> }
  const jwk = jwks.keys.find((k) => k.kid === header['kid'])
  expect(jwk).toBeDefined()
  expect(verify(null, Buffer.from(`${h}.${p}`), createPublicKey({ key: jwk as never, format: 'jwk' }), Buffer.from(s, 'base64url'))).toBe(true)
  return { header, payload: JSON.parse(Buffer.from(p, 'base64url').toString()) as Record<string, unknown> }
}

const closeServer = (server: Server) =>
  new Promise<void>((resolve) => {
    server.closeAllConnections()
    server.close(() => resolve())
  })

describe('Txn-Token Service with a real oidc-provider', () => {
  let ids: IdentityFixture
  let idp: Loopback
  let standalone: Loopback
  let standaloneTts: TxnTokenService
  let mountedTts: TxnTokenService

  beforeAll(async () => {
    ids = await createIdentityFixture({ services: ['gateway', 'orders'] })
    idp = await loopback()
    standalone = await loopback()
    const workloadClient = (name: string) => ({
      client_id: serviceId(name),
      token_endpoint_auth_method: 'private_key_jwt',
      jwks: { keys: [ids.services[name]?.publicJwk] },
      grant_types: [TOKEN_EXCHANGE_GRANT_TYPE],
      id_token_signed_response_alg: 'ES256',
      response_types: [],
      redirect_uris: [],
    })
    const signingKey = { ...generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'jwk' }), kid: 'idp-1', alg: 'ES256', use: 'sig' }
    const provider = new Provider(idp.url, {
      clients: [
        {
          client_id: AGENT.clientId,
          client_secret: AGENT.secret,
          grant_types: ['client_credentials'],
          response_types: [],
          redirect_uris: [],
          id_token_signed_response_alg: 'ES256',
        },
        workloadClient('gateway'),
        workloadClient('orders'),
      ],
      jwks: { keys: [signingKey] },
      cookies: { keys: [randomBytes(16).toString('hex')] },
      features: {
        devInteractions: { enabled: false },
        clientCredentials: { enabled: true },
        resourceIndicators: {
          enabled: true,
          defaultResource: () => API,
          useGrantedResource: () => true,
          getResourceServerInfo: () => ({ scope: 'review.read review.write', audience: API, accessTokenFormat: 'jwt', accessTokenTTL: 600, jwt: { sign: { alg: 'ES256' } } }),
        },
      },
      extraTokenClaims: () => ({ roles: ['analyst'], department: 'people' }),
    })
    provider.proxy = false

    const engine = await EmbeddedEngine.fromDirectory(POLICY_DIR)
    const options = (issuer: string): TxnTokenServiceOptions => ({
      issuer,
      trustDomain: TRUST_DOMAIN,
      signingKeys: [{ key: generateKeyPairSync('ed25519').privateKey, kid: `tts-${issuer.slice(-5)}` }],
      trust: { workloads: ids.trust().workloads },
      subjectIssuers: [{ issuer: idp.url, keys: { discovery: true }, audiences: [API], user: { attributeClaims: ['department'] } }],
      engine,
    })
    standaloneTts = createTxnTokenService(options(standalone.url))
    standalone.route(standaloneTts.handler)
    mountedTts = createTxnTokenService(options(idp.url))
    mountTxnTokenGrant(provider, mountedTts)
    const providerHandler = provider.callback()
    // The provider keeps /jwks for its own keys; the Txn-Token keys are published beside them.
    idp.route((req, res) => (req.url === TXN_TOKEN_SERVICE_PATHS.jwks ? mountedTts.handler(req, res) : providerHandler(req, res)))
  })
  afterAll(async () => {
    await closeServer(idp.server)
    await closeServer(standalone.server)
  })

  async function agentAccessToken(scope = 'review.read review.write'): Promise<string> {
    const response = await fetch(`${idp.url}/token`, {
      method: 'POST',
      headers: {
        authorization: `Basic ${Buffer.from(`${AGENT.clientId}:${AGENT.secret}`).toString('base64')}`,
        'content-type': 'application/x-www-form-urlencoded',
      },
      body: new URLSearchParams({ grant_type: 'client_credentials', resource: API, scope }),
    })
    const body = (await response.json()) as { access_token: string }
    expect(response.status).toBe(200)
    return body.access_token
  }

  /** The exchange parameters for a fresh agent access token. */
  const exchangeParams = async (): Promise<Record<string, string>> => ({
    grant_type: TOKEN_EXCHANGE_GRANT_TYPE,
    requested_token_type: TOKEN_TYPES.txnToken,
    audience: TRUST_DOMAIN,
    scope: 'review.read',
    subject_token: await agentAccessToken(),
    subject_token_type: TOKEN_TYPES.accessToken,
  })

  async function exchange(tts: TxnTokenService, from: string, form: Record<string, string> = {}) {
    const body = new URLSearchParams({
      ...(await exchangeParams()),
      client_id: serviceId(from),
      client_assertion_type: JWT_BEARER_ASSERTION_TYPE,
      client_assertion: await ids.mintWorkloadToken(from, { audience: tts.tokenEndpoint }),
      ...form,
    })
    const response = await fetch(tts.tokenEndpoint, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body })
    return { status: response.status, body: (await response.json()) as Record<string, unknown> }
  }

  for (const mode of ['standalone', 'mounted'] as const) {
    describe(mode, () => {
      const tts = () => (mode === 'standalone' ? standaloneTts : mountedTts)

      it('exchanges the provider-issued access token for a Txn-Token verifiable with the published JWKS', async () => {
        const { status, body } = await exchange(tts(), 'gateway')
        expect(body).toMatchObject({ issued_token_type: TOKEN_TYPES.txnToken, token_type: 'N_A' })
        expect(status).toBe(200)
        const { payload, header } = await verifiedParts(String(body['access_token']), tts().jwksUri)
        expect(header['typ']).toBe(TXN_TOKEN_TYP)
        expect(payload).toMatchObject({
          iss: tts().issuer,
          aud: TRUST_DOMAIN,
          sub: AGENT.clientId,
          scope: 'review.read',
          req_wl: serviceId('gateway'),
          tctx: { user: { roles: ['analyst'], attr: { department: 'people' } } },
        })
      })

      it('refuses a workload the issuance policy does not allow', async () => {
        const { status, body } = await exchange(tts(), 'orders')
        expect([status, body['error']]).toEqual([400, 'unauthorized_client'])
      })

      it('refuses a scope wider than the access token', async () => {
        const { status, body } = await exchange(tts(), 'gateway', { scope: 'review.read employee.read' })
        expect([status, body['error']]).toEqual([400, 'invalid_scope'])
      })

      it('refuses a replayed client assertion', async () => {
        const assertion = await ids.mintWorkloadToken('gateway', { audience: tts().tokenEndpoint })
        expect((await exchange(tts(), 'gateway', { client_assertion: assertion })).status).toBe(200)
        const { status, body } = await exchange(tts(), 'gateway', { client_assertion: assertion })
        expect([status, body['error']]).toEqual([401, 'invalid_client'])
      })
    })
  }

  it('answers 503 when the subject issuer cannot be discovered', async () => {
    const dead = await loopback()
    const url = dead.url
    await closeServer(dead.server)
    const tts = createTxnTokenService({
      issuer: standalone.url,
      trustDomain: TRUST_DOMAIN,
      signingKeys: [{ key: generateKeyPairSync('ed25519').privateKey, kid: 'tts-x' }],
      trust: { workloads: ids.trust().workloads },
      subjectIssuers: [{ issuer: idp.url, keys: { jwksUrl: `${url}/jwks` }, audiences: [API] }],
      engine: await EmbeddedEngine.fromDirectory(POLICY_DIR),
    })
    const params = new Map(Object.entries(await exchangeParams()))
    const client = { assertion: await ids.mintWorkloadToken('gateway', { audience: tts.tokenEndpoint }), assertionType: JWT_BEARER_ASSERTION_TYPE }
    await expect(tts.exchange(params, client)).rejects.toMatchObject({ oauthError: 'temporarily_unavailable', httpStatus: 503 })
  })
})
