import { readFile, stat } from 'node:fs/promises'
import { randomUUID } from 'node:crypto'
import { SignJWT, decodeJwt } from 'jose'
import { ConfigError, MintError } from '../errors.js'
import { loadSigningKey, type SigningAlgorithm, type SigningKeyInput } from './signing-key.js'
import { WORKLOAD_TOKEN_TYP } from './trust-bundle.js'

/** What the minting side asks a token source for. */
export interface TokenRequest {
  /** This service's SPIFFE ID. */
  readonly id: string
  /** The callee. */
  readonly audience: string
  /** base64url(sha256(actor token)) to bind, when an actor travels along. */
  readonly actorDigest?: string | undefined
  /** The nested `act` claim (workloads earlier in the call chain). */
  readonly act?: Record<string, unknown> | undefined
  /** Transaction id to carry as `txn`. */
  readonly transactionId?: string | undefined
  /** Milliseconds clock reading. */
  readonly now: number
}

/** A minted or fetched token and when it expires (epoch ms). */
export interface SourcedToken {
  readonly token: string
  readonly expiresAt: number
}

/** Where workload tokens come from. */
export interface WorkloadTokenSource {
  readonly kind: 'self-signed' | 'token-file' | 'client-credentials'
  /** True when tokens carry per-call audience, actor binding, `act` chain and `txn` (self-signed only). */
  readonly binds: boolean
  /** Produces a token for the request; failures are `MintError`s. */
  token(request: TokenRequest): Promise<SourcedToken>
}

/** Options of {@link selfSignedTokenSource}. */
export interface SelfSignedSourceOptions {
  /** The private key (Ed25519 or P-256). */
  key: SigningKeyInput
  /** The key id published in the trust bundle (required). */
  kid: string
  /** Checked against the key type when given. */
  alg?: SigningAlgorithm | undefined
  /** Token lifetime in seconds. @defaultValue 300 */
  lifetime?: number | undefined
  /** Static claims added to every token (e.g. `roles`). Reserved claims cannot be overridden. */
  claims?: Record<string, unknown> | undefined
}

const RESERVED = new Set(['iss', 'sub', 'aud', 'exp', 'nbf', 'iat', 'jti', 'ath', 'act', 'txn'])

/**
 * Mints workload tokens signed with the service's own key: `typ: workload+jwt`, `iss = sub` = the
 * service's SPIFFE ID, `aud` = the callee, short lifetime, unique `jti`, plus `ath`, `act` and `txn`.
 *
 * @throws ConfigError at creation for an unusable key or a missing `kid`
 */
export function selfSignedTokenSource(options: SelfSignedSourceOptions): WorkloadTokenSource {
  const signing = loadSigningKey(options.key, options.kid, 'identity.source', options.alg)
  const lifetime = options.lifetime ?? 300
  if (!Number.isFinite(lifetime) || lifetime < 10 || lifetime > 3600) {
    throw new ConfigError('identity.source.lifetime', 'must be between 10 and 3600 seconds')
  }
  const extra = { ...options.claims }
  for (const name of Object.keys(extra)) {
    if (RESERVED.has(name)) throw new ConfigError(`identity.source.claims.${name}`, 'is reserved')
  }
  return {
    kind: 'self-signed',
    binds: true,
    async token(request) {
      const iat = Math.floor(request.now / 1000)
      const payload: Record<string, unknown> = { ...extra }
      if (request.actorDigest !== undefined) payload['ath'] = request.actorDigest
      if (request.act !== undefined) payload['act'] = request.act
      if (request.transactionId !== undefined) payload['txn'] = request.transactionId
      try {
        const token = await new SignJWT(payload)
          .setProtectedHeader({ alg: signing.alg, kid: signing.kid, typ: WORKLOAD_TOKEN_TYP })
          .setIssuer(request.id)
          .setSubject(request.id)
          .setAudience(request.audience)
          .setIssuedAt(iat)
          .setExpirationTime(iat + lifetime)
          .setJti(randomUUID())
          .sign(signing.key)
        return { token, expiresAt: (iat + lifetime) * 1000 }
      } catch (err) {
        throw new MintError('signing_failed', 'workload token could not be signed', { cause: err })
      }
    },
  }
}

/** Options of {@link tokenFileSource}. */
export interface TokenFileSourceOptions {
  /** A file holding one JWT (a SPIRE JWT-SVID or a Kubernetes projected token), rotated by its writer. */
  path: string
}

/**
 * Reads the workload token from a file, re-reading it whenever the file changes. The token is sent
 * as written, so it cannot be bound to an actor or narrowed per callee: the callee's anchor must set
 * `requireActorBinding: false`, and the token's `aud` must include the callee or minting fails.
 */
export function tokenFileSource(options: TokenFileSourceOptions): WorkloadTokenSource {
  if (typeof options?.path !== 'string' || options.path === '') throw new ConfigError('identity.source.path', 'is required')
  let current: { token: string; mtimeMs: number; exp: number; aud: string[] } | undefined
  async function load(): Promise<NonNullable<typeof current>> {
    let mtimeMs: number
    try {
      mtimeMs = (await stat(options.path)).mtimeMs
      if (current !== undefined && current.mtimeMs === mtimeMs) return current
      const token = (await readFile(options.path, 'utf8')).trim()
      const claims = decodeJwt(token)
      const aud = typeof claims.aud === 'string' ? [claims.aud] : Array.isArray(claims.aud) ? claims.aud : []
      if (typeof claims.exp !== 'number') throw new Error('token has no exp')
      current = { token, mtimeMs, exp: claims.exp, aud }
      return current
    } catch (err) {
      throw new MintError('token_source_unavailable', 'workload token file cannot be read', { cause: err })
    }
  }
  return {
    kind: 'token-file',
    binds: false,
    async token(request) {
      const loaded = await load()
      if (loaded.exp * 1000 <= request.now) throw new MintError('token_expired', 'workload token file holds an expired token')
      if (!loaded.aud.includes(request.audience)) {
        throw new MintError('audience_unavailable', 'workload token file has no token for this audience')
      }
      return { token: loaded.token, expiresAt: loaded.exp * 1000 }
    },
  }
}

/** Options of {@link clientCredentialsSource}. */
export interface ClientCredentialsSourceOptions {
  /** The authorization server's token endpoint. */
  tokenEndpoint: string
  clientId: string
  clientSecret: string
  /** How the client authenticates. @defaultValue `'client_secret_basic'` */
  authMethod?: 'client_secret_basic' | 'client_secret_post' | undefined
  /** Requested scope. */
  scope?: string | undefined
  /** The RFC 8707 `resource` for a callee. @defaultValue the audience itself */
  resource?: ((audience: string) => string) | undefined
  /** Abort a token request after this long. @defaultValue 5000 */
  timeoutMs?: number | undefined
  /** The fetch implementation. @defaultValue `globalThis.fetch` */
  fetch?: typeof fetch | undefined
}

/**
 * OAuth 2.0 client credentials (RFC 6749 §4.4) with one RFC 8707 resource per callee. Tokens are
 * requested by the minting side, which caches them per callee and refreshes before expiry.
 */
export function clientCredentialsSource(options: ClientCredentialsSourceOptions): WorkloadTokenSource {
  let endpoint: URL
  try {
    endpoint = new URL(options.tokenEndpoint)
  } catch {
    throw new ConfigError('identity.source.tokenEndpoint', 'is not a valid URL')
  }
  if (typeof options.clientId !== 'string' || options.clientId === '') throw new ConfigError('identity.source.clientId', 'is required')
  if (typeof options.clientSecret !== 'string' || options.clientSecret === '') {
    throw new ConfigError('identity.source.clientSecret', 'is required')
  }
  const authMethod = options.authMethod ?? 'client_secret_basic'
  const resourceFor = options.resource ?? ((audience: string) => audience)
  const timeoutMs = options.timeoutMs ?? 5000
  const fetchImpl = options.fetch ?? globalThis.fetch
  return {
    kind: 'client-credentials',
    binds: false,
    async token(request) {
      const body = new URLSearchParams({ grant_type: 'client_credentials', resource: resourceFor(request.audience) })
      if (options.scope !== undefined) body.set('scope', options.scope)
      const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' }
      if (authMethod === 'client_secret_basic') {
        const user = encodeURIComponent(options.clientId)
        const pass = encodeURIComponent(options.clientSecret)
        headers['authorization'] = `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}`
      } else {
        body.set('client_id', options.clientId)
        body.set('client_secret', options.clientSecret)
      }
      let json: Record<string, unknown>
      let status: number
      try {
        const response = await fetchImpl(endpoint, {
          method: 'POST',
          headers,
          body,
          redirect: 'manual',
          signal: AbortSignal.timeout(timeoutMs),
        })
        status = response.status
        json = (await response.json()) as Record<string, unknown>
      } catch (err) {
        throw new MintError('token_endpoint_unavailable', 'token endpoint cannot be reached', { cause: err })
      }
      if (status !== 200) {
        // The OAuth error code is safe to surface; the description may not be.
        const code = typeof json['error'] === 'string' && /^[a-z_]{1,64}$/.test(json['error']) ? json['error'] : `http_${status}`
        throw new MintError('token_endpoint_rejected', `token endpoint refused the request (${code})`)
      }
      const token = json['access_token']
      const expiresIn = json['expires_in']
      const tokenType = json['token_type']
      if (typeof token !== 'string' || typeof expiresIn !== 'number' || !(expiresIn > 0)) {
        throw new MintError('token_endpoint_invalid', 'token endpoint answered without a usable access token')
      }
      if (typeof tokenType === 'string' && tokenType.toLowerCase() !== 'bearer') {
        throw new MintError('token_endpoint_invalid', 'token endpoint issued a non-bearer token')
      }
      return { token, expiresAt: request.now + expiresIn * 1000 }
    },
  }
}
