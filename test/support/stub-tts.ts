/**
 * A small Txn-Token Service for cross-package tests over loopback HTTP: RFC 8693 token exchange with
 * the draft's profile (`requested_token_type` txn_token, `audience` = trust domain), `private_key_jwt`
 * client authentication against the fixture services' keys, access-token and Txn-Token (replacement)
 * subjects, a per-client allow-list standing in for the issuance policy, and a JWKS. It is a test
 * double of `@meshguard/txn-token-service`, kept to what the receiving side's tests need; it can
 * also refuse, fail or hang on demand.
 */
import { randomUUID, verify as cryptoVerify } from 'node:crypto'
import { createServer, type Server, type ServerResponse } from 'node:http'
import { ACCESS_TOKEN_TYP, TXN_TOKEN_TYP } from '../../packages/core/src/identity/index.js'
import { generateFixtureKey, sign, TRUST_DOMAIN, USER_ISSUER, ACTOR_AUDIENCE, type FixtureKey, type IdentityFixture } from './identity.js'

const TXN_TYPE = 'urn:ietf:params:oauth:token-type:txn_token'

/** How the stub behaves. */
export type StubMode = 'normal' | 'down' | 'hang'

/** A running stub TTS. */
export interface StubTts {
  /** `http://127.0.0.1:<port>` */
  url: string
  tokenEndpoint: string
  jwksUri: string
  key: FixtureKey
  trustDomain: string
  /** Every exchange request body received (form fields), for assertions. */
  requests: Record<string, string>[]
  /** Switches failure modes. */
  mode: StubMode
  close(): Promise<void>
}

/** Options of {@link startStubTts}. */
export interface StubTtsOptions {
  /** Client SPIFFE IDs allowed to exchange access tokens (the edge). @defaultValue the gateway */
  edgeClients?: string[]
  /** Scopes any subject may get. @defaultValue review.read, review.list, profile.read */
  scopes?: string[]
  /** Txn-Token lifetime, seconds. @defaultValue 300 */
  lifetime?: number
  trustDomain?: string
}

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' })
  res.end(JSON.stringify(body))
}

/**
 * Verifies a compact JWS with one of `keys` (by `kid`) and checks `typ`, `iss`, `sub`, `aud` and
 * `exp` when asked; throws on any failure. Test-double grade: node:crypto only.
 */
function verifyJws(token: string, keys: readonly FixtureKey[], expect: { typ?: string; iss?: string; sub?: string; aud?: string }): Record<string, unknown> {
  const [h, p, sig] = token.split('.')
  if (h === undefined || p === undefined || sig === undefined) throw new Error('not a compact JWS')
  const header = JSON.parse(Buffer.from(h, 'base64url').toString('utf8')) as Record<string, unknown>
  const payload = JSON.parse(Buffer.from(p, 'base64url').toString('utf8')) as Record<string, unknown>
  const key = keys.find((k) => k.kid === header['kid'])
  if (key === undefined || header['alg'] !== key.alg) throw new Error('unknown key')
  const input = Buffer.from(`${h}.${p}`)
  const signature = Buffer.from(sig, 'base64url')
  const ok = key.alg === 'EdDSA'
    ? cryptoVerify(null, input, key.publicKey, signature)
    : cryptoVerify('sha256', input, { key: key.publicKey, dsaEncoding: 'ieee-p1363' }, signature)
  if (!ok) throw new Error('bad signature')
  if (expect.typ !== undefined && header['typ'] !== expect.typ) throw new Error('typ')
  if (expect.iss !== undefined && payload['iss'] !== expect.iss) throw new Error('iss')
  if (expect.sub !== undefined && payload['sub'] !== expect.sub) throw new Error('sub')
  const aud = payload['aud']
  if (expect.aud !== undefined && aud !== expect.aud && !(Array.isArray(aud) && aud.includes(expect.aud))) throw new Error('aud')
  if (typeof payload['exp'] !== 'number' || payload['exp'] <= Date.now() / 1000) throw new Error('expired')
  return payload
}

/** Starts the stub on 127.0.0.1 with an OS-chosen port. */
export async function startStubTts(ids: IdentityFixture, options: StubTtsOptions = {}): Promise<StubTts> {
  const key = generateFixtureKey('ES256', 'stub-tts-1')
  const trustDomain = options.trustDomain ?? TRUST_DOMAIN
  const edgeClients = new Set(options.edgeClients ?? [ids.services['gateway']?.id ?? ''])
  const allowedScopes = new Set(options.scopes ?? ['review.read', 'review.list', 'profile.read'])
  const lifetime = options.lifetime ?? 300
  const clientKeys = Object.values(ids.services)
  const requests: Record<string, string>[] = []
  let tokenEndpoint = ''

  async function issue(form: Record<string, string>): Promise<{ status: number; body: unknown }> {
    const client = form['client_id'] ?? ''
    try {
      // Only the client's own key: a workload cannot authenticate as another.
      verifyJws(form['client_assertion'] ?? '', clientKeys.filter((s) => s.id === client), { iss: client, sub: client, aud: tokenEndpoint })
    } catch {
      return { status: 401, body: { error: 'invalid_client' } }
    }
    if (form['grant_type'] !== 'urn:ietf:params:oauth:grant-type:token-exchange' || form['requested_token_type'] !== TXN_TYPE) {
      return { status: 400, body: { error: 'invalid_request' } }
    }
    if (form['audience'] !== trustDomain) return { status: 400, body: { error: 'invalid_target' } }
    const requested = (form['scope'] ?? '').split(' ').filter((s) => s.length > 0)
    let sub: string
    let txn: string
    let granted: Set<string>
    let tctx: Record<string, unknown>
    // The request's own context (`request_details`, JSON), merged into the Txn-Token's.
    const details = (): Record<string, unknown> => JSON.parse(form['request_details'] ?? '{}') as Record<string, unknown>
    try {
      if (form['subject_token_type'] === 'urn:ietf:params:oauth:token-type:access_token') {
        if (!edgeClients.has(client)) return { status: 400, body: { error: 'unauthorized_client' } }
        const payload = verifyJws(form['subject_token'] ?? '', [ids.userIssuer], { iss: USER_ISSUER, aud: ACTOR_AUDIENCE, typ: ACCESS_TOKEN_TYP })
        sub = String(payload['sub'])
        txn = randomUUID()
        granted = allowedScopes
        const attr: Record<string, unknown> = {}
        if (typeof payload['department'] === 'string') attr['department'] = payload['department']
        tctx = { user: { roles: Array.isArray(payload['roles']) ? payload['roles'] : [], attr }, ...details() }
      } else if (form['subject_token_type'] === TXN_TYPE) {
        const payload = verifyJws(form['subject_token'] ?? '', [key], { aud: trustDomain, typ: TXN_TOKEN_TYP })
        sub = String(payload['sub'])
        txn = String(payload['txn'])
        // A replacement never widens: only scopes the subject Txn-Token holds.
        granted = new Set(String(payload['scope']).split(' '))
        tctx = { ...(payload['tctx'] as Record<string, unknown>), ...details() }
      } else {
        return { status: 400, body: { error: 'invalid_request' } }
      }
    } catch {
      return { status: 400, body: { error: 'invalid_grant' } }
    }
    if (requested.length === 0 || !requested.every((s) => granted.has(s))) return { status: 400, body: { error: 'invalid_scope' } }
    const now = Math.floor(Date.now() / 1000)
    const rctx = JSON.parse(form['request_context'] ?? '{}') as unknown
    const claims = { iat: now, exp: now + lifetime, aud: trustDomain, txn, sub, scope: requested.join(' '), req_wl: client, tctx, rctx }
    const token = await sign(key, { alg: key.alg, kid: key.kid, typ: TXN_TOKEN_TYP }, claims)
    return { status: 200, body: { access_token: token, issued_token_type: TXN_TYPE, token_type: 'N_A', expires_in: lifetime } }
  }

  const stub: StubTts = {
    url: '',
    tokenEndpoint: '',
    jwksUri: '',
    key,
    trustDomain,
    requests,
    mode: 'normal',
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve())
        server.closeAllConnections()
      }),
  }
  const server: Server = createServer((req, res) => {
    if (req.url === '/jwks') return json(res, 200, { keys: [key.publicJwk] })
    if (req.url !== '/token' || req.method !== 'POST') return json(res, 404, { error: 'not_found' })
    if (stub.mode === 'hang') return // never answers: the requester's timeout decides
    if (stub.mode === 'down') return json(res, 500, { error: 'server_error' })
    let body = ''
    req.setEncoding('utf8')
    req.on('data', (chunk: string) => (body += chunk))
    req.on('end', () => {
      const form = Object.fromEntries(new URLSearchParams(body))
      requests.push(form)
      issue(form).then(
        ({ status, body: answer }) => json(res, status, answer),
        () => json(res, 500, { error: 'server_error' }),
      )
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const address = server.address()
  if (address === null || typeof address === 'string') throw new Error('stub TTS is not listening on TCP')
  stub.url = `http://127.0.0.1:${address.port}`
  stub.tokenEndpoint = tokenEndpoint = `${stub.url}/token`
  stub.jwksUri = `${stub.url}/jwks`
  return stub
}
