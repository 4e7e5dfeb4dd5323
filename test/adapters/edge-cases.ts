/**
 * The contract at the edge: the same adapter apps over a guard whose `edge` option is the one edge
 * verifier, so access tokens arrive from outside (`Bearer`, DPoP-bound, or opaque and introspected)
 * and go through every adapter's `authorize()`. A DPoP proof names the URL of the app it is sent to,
 * so each case builds its headers per app. Every adapter must give exactly these answers.
 */
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { ACTOR_AUDIENCE, USER_ISSUER, USERS, type IdentityFixture } from '../support/identity.js'
import { clientKey, proof, type ClientKey } from '../support/dpop.js'
import { CLAIMS_CHALLENGE, stepUpChallenge } from './claims-cases.js'
import { SERVICE, type ContractCase, type ExpectedAnswer } from './contract.js'

/** The opaque tokens the introspection endpoint knows, and how it answers each. */
export const OPAQUE = { active: 'opaque-alice-active', inactive: 'opaque-alice-revoked', down: 'opaque-while-the-server-is-down' } as const

/** A loopback RFC 7662 introspection endpoint for {@link OPAQUE} (client `edge` / `edge-secret`). */
export interface IntrospectionServer {
  readonly url: string
  /** Requests it received. */
  readonly asked: number
  close(): Promise<void>
}

export async function startIntrospectionServer(): Promise<IntrospectionServer> {
  let asked = 0
  const expectedAuth = `Basic ${Buffer.from('edge:edge-secret').toString('base64')}`
  const server: Server = createServer((req, res) => {
    let body = ''
    req.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')))
    req.on('end', () => {
      asked += 1
      const token = new URLSearchParams(body).get('token')
      // A server that is down: the connection drops without an answer.
      if (token === OPAQUE.down) return void req.socket.destroy()
      if (req.headers.authorization !== expectedAuth) return void res.writeHead(401).end()
      const now = Math.floor(Date.now() / 1000)
      const { sub, roles, department } = USERS.alice
      const answer =
        token === OPAQUE.active
          ? { active: true, iss: USER_ISSUER, sub, aud: ACTOR_AUDIENCE, iat: now, exp: now + 600, roles, department, tenant: 'acme', amr: ['pwd', 'mfa'] }
          : { active: false }
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(answer))
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/introspect`,
    get asked() {
      return asked
    },
    close: () => new Promise((resolve) => server.close(() => resolve())),
  }
}

/** What edge cases build their headers from. */
export interface EdgeFixture {
  readonly ids: IdentityFixture
  /** alice's DPoP key. */
  readonly alice: ClientKey
}

/** One request of the edge table; `url` is the absolute URL of the app it goes to. */
export interface EdgeCase extends Pick<ContractCase, 'name' | 'method' | 'path'>, ExpectedAnswer {
  headers: (edge: EdgeFixture, url: string) => Promise<[string, string][]>
  /** Send the same headers twice: the first must pass, the second gives the expected answer. */
  replay?: boolean
}

const ALGS = 'algs="EdDSA Ed25519 ES256 ES384 PS256 RS256"'
/** RFC 9449 §7.1 beside RFC 6750: both schemes are offered. */
const INVALID_TOKEN = `Bearer realm="${SERVICE}", error="invalid_token", DPoP realm="${SERVICE}", error="invalid_token", ${ALGS}`
const INVALID_PROOF = `DPoP realm="${SERVICE}", error="invalid_dpop_proof", ${ALGS}`

const alice = { workload: 'alice', actor: 'alice', policy: 'resource.review.vdefault', inCallerContext: false }

/** alice's access token, bound to her DPoP key (`cnf.jkt`) unless `bound` is false. */
const accessToken = (edge: EdgeFixture, claims: Record<string, unknown> = {}, bound = true): Promise<string> =>
  edge.ids.mintActorToken('alice', { claims: bound ? { cnf: { jkt: edge.alice.jkt }, ...claims } : claims })

/** `Authorization: DPoP` and a proof for `method url`, as `proofFor` (default: alice's valid one) makes it. */
async function dpop(edge: EdgeFixture, method: string, url: string, overrides: Parameters<typeof proof>[2] = {}, key = edge.alice): Promise<[string, string][]> {
  const token = await accessToken(edge)
  return [['authorization', `DPoP ${token}`], ['dpop', proof(key, { method, url, token }, overrides)]]
}

/** The edge table. */
export const EDGE_CASES: readonly EdgeCase[] = [
  {
    name: 'edge: no token',
    method: 'GET',
    path: '/reviews/r-eng',
    headers: async () => [],
    status: 401,
    reason: 'token_missing',
    tokenKind: 'actor',
    wwwAuthenticate: `Bearer realm="${SERVICE}", DPoP realm="${SERVICE}", ${ALGS}`,
  },
  { name: 'edge: a bearer access token', method: 'GET', path: '/reviews/r-eng', headers: async (edge) => [['authorization', `Bearer ${await accessToken(edge, {}, false)}`]], status: 200, answer: alice },
  {
    name: 'edge: a route for services alone refuses a user’s access token',
    method: 'GET',
    path: '/internal/r-eng',
    headers: async (edge) => [['authorization', `Bearer ${await accessToken(edge, {}, false)}`]],
    status: 401,
    reason: 'actor_forbidden',
    tokenKind: 'actor',
    wwwAuthenticate: INVALID_TOKEN,
  },
  { name: 'edge: the policy still decides', method: 'GET', path: '/reviews/r-people', headers: async (edge) => [['authorization', `Bearer ${await accessToken(edge, {}, false)}`]], status: 403, reason: 'denied' },
  { name: 'dpop: a bound token with a valid proof', method: 'GET', path: '/reviews/r-eng', headers: (edge, url) => dpop(edge, 'GET', url), status: 200, answer: alice },
  {
    name: 'dpop: a bound token without a proof (cnf) is never a bearer token',
    method: 'GET',
    path: '/reviews/r-eng',
    headers: async (edge) => [['authorization', `Bearer ${await accessToken(edge)}`]],
    status: 401,
    reason: 'dpop_required',
    tokenKind: 'actor',
    wwwAuthenticate: INVALID_TOKEN,
  },
  {
    name: 'dpop: the DPoP scheme without its proof',
    method: 'GET',
    path: '/reviews/r-eng',
    headers: async (edge) => [['authorization', `DPoP ${await accessToken(edge)}`]],
    status: 401,
    reason: 'dpop_required',
    tokenKind: 'actor',
    wwwAuthenticate: INVALID_TOKEN,
  },
  {
    name: 'dpop: two DPoP headers (RFC 9449 §4.3: exactly one)',
    method: 'GET',
    path: '/reviews/r-eng',
    headers: async (edge, url) => {
      const headers = await dpop(edge, 'GET', url)
      return [...headers, ['dpop', proof(edge.alice, { method: 'GET', url, token: headers[0]![1].slice('DPoP '.length) })]]
    },
    status: 401,
    reason: 'duplicate_header',
    tokenKind: 'actor',
    wwwAuthenticate: INVALID_TOKEN,
  },
  {
    name: 'dpop: a proof signed by another key (thumbprint mismatch)',
    method: 'GET',
    path: '/reviews/r-eng',
    headers: (edge, url) => dpop(edge, 'GET', url, {}, clientKey()),
    status: 401,
    reason: 'dpop_key_mismatch',
    tokenKind: 'actor',
    wwwAuthenticate: INVALID_PROOF,
  },
  {
    name: 'dpop: a replayed proof (same jti)',
    method: 'GET',
    path: '/reviews/r-eng',
    headers: (edge, url) => dpop(edge, 'GET', url),
    replay: true,
    status: 401,
    reason: 'dpop_proof_replayed',
    tokenKind: 'actor',
    wwwAuthenticate: INVALID_PROOF,
  },
  {
    name: 'dpop: a proof for another URI (htu)',
    method: 'GET',
    path: '/reviews/r-eng',
    headers: (edge, url) => dpop(edge, 'GET', url.replace('r-eng', 'r-people')),
    status: 401,
    reason: 'dpop_proof_invalid',
    tokenKind: 'actor',
    wwwAuthenticate: INVALID_PROOF,
  },
  {
    name: 'dpop: a proof for the same path on another origin (htu)',
    method: 'GET',
    path: '/reviews/r-eng',
    headers: (edge, url) => dpop(edge, 'GET', url.replace('127.0.0.1', 'api.example.com')),
    status: 401,
    reason: 'dpop_proof_invalid',
    tokenKind: 'actor',
    wwwAuthenticate: INVALID_PROOF,
  },
  {
    name: 'dpop: a proof for another method (htm)',
    method: 'GET',
    path: '/reviews/r-eng',
    headers: (edge, url) => dpop(edge, 'POST', url),
    status: 401,
    reason: 'dpop_proof_invalid',
    tokenKind: 'actor',
    wwwAuthenticate: INVALID_PROOF,
  },
  { name: 'introspection: an active opaque token', method: 'GET', path: '/reviews/r-eng', headers: async () => [['authorization', `Bearer ${OPAQUE.active}`]], status: 200, answer: alice },
  {
    name: 'introspection: an inactive opaque token',
    method: 'GET',
    path: '/reviews/r-eng',
    headers: async () => [['authorization', `Bearer ${OPAQUE.inactive}`]],
    status: 401,
    reason: 'token_inactive',
    tokenKind: 'actor',
    wwwAuthenticate: INVALID_TOKEN,
  },
  {
    name: 'introspection: the endpoint is down (fail closed)',
    method: 'GET',
    path: '/reviews/r-eng',
    headers: async () => [['authorization', `Bearer ${OPAQUE.down}`]],
    status: 503,
    reason: 'introspection_unavailable',
    tokenKind: 'actor',
  },
  { name: 'edge claims: a DPoP-bound token meeting them', method: 'GET', path: '/claimed/r-eng', headers: async (edge, url) => dpopWith(edge, url, { tenant: 'globex', amr: ['mfa'] }), status: 200, answer: alice },
  { name: 'edge claims: an introspected token meeting them', method: 'GET', path: '/claimed/r-eng', headers: async () => [['authorization', `Bearer ${OPAQUE.active}`]], status: 200, answer: alice },
  {
    // RFC 9449 §7.1: a DPoP-bound token's refusal is challenged in the scheme its client uses.
    name: 'edge claims: a DPoP-bound token without them',
    method: 'GET',
    path: '/claimed/r-eng',
    headers: (edge, url) => dpopWith(edge, url, { tenant: 'initech', amr: ['mfa'] }),
    status: 403,
    reason: 'insufficient_claims',
    wwwAuthenticate: asDpop(CLAIMS_CHALLENGE),
  },
  {
    name: 'edge claims: a bearer token without them',
    method: 'GET',
    path: '/claimed/r-eng',
    headers: async (edge) => [['authorization', `Bearer ${await accessToken(edge, { tenant: 'initech', amr: ['mfa'] }, false)}`]],
    status: 403,
    reason: 'insufficient_claims',
    wwwAuthenticate: CLAIMS_CHALLENGE,
  },
  {
    name: 'edge step-up: a password login with a DPoP-bound token',
    method: 'GET',
    path: '/step-up/r-eng',
    headers: (edge, url) => dpopWith(edge, url, { acr: 'urn:example:pwd', auth_time: Math.floor(Date.now() / 1000) }),
    status: 401,
    reason: 'insufficient_user_authentication',
    tokenKind: 'actor',
    wwwAuthenticate: asDpop(stepUpChallenge('acr_values="urn:example:mfa"')),
  },
  {
    name: 'edge step-up: a password login with a bearer token',
    method: 'GET',
    path: '/step-up/r-eng',
    headers: async (edge) => [['authorization', `Bearer ${await accessToken(edge, { acr: 'urn:example:pwd', auth_time: Math.floor(Date.now() / 1000) }, false)}`]],
    status: 401,
    reason: 'insufficient_user_authentication',
    tokenKind: 'actor',
    wwwAuthenticate: stepUpChallenge('acr_values="urn:example:mfa"'),
  },
]

/** A Bearer refusal challenge in the DPoP scheme, with the algorithms the edge accepts. */
function asDpop(bearerChallenge: string): string {
  if (!bearerChallenge.startsWith('Bearer ')) throw new Error(`not a Bearer challenge: ${bearerChallenge}`)
  return `DPoP ${bearerChallenge.slice('Bearer '.length)}, ${ALGS}`
}

/** A DPoP-bound token carrying `claims`, with a valid proof for `GET url`. */
async function dpopWith(edge: EdgeFixture, url: string, claims: Record<string, unknown>): Promise<[string, string][]> {
  const token = await accessToken(edge, claims)
  return [['authorization', `DPoP ${token}`], ['dpop', proof(edge.alice, { method: 'GET', url, token })]]
}
