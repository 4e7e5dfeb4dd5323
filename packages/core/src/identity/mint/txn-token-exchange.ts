/**
 * The requesting side of a Txn-Token Service (draft-ietf-oauth-transaction-tokens-10 §10–§11): an
 * RFC 8693 token exchange for a `txn_token`, the workload authenticating with `private_key_jwt`
 * (RFC 7523) signed by its own workload key, or with its WIMSE WIT and a proof (WPT) made for the
 * token endpoint. The edge uses it to turn the user's access token into a
 * Txn-Token; any hop uses it to get a replacement with a narrower scope.
 *
 * Failure closes: a refusal is a 403 (`txn_token_denied`), an unreachable, slow or broken TTS a 503.
 * Nothing here ever falls back to the subject token.
 */
import { randomUUID } from 'node:crypto'
import { SignJWT } from 'jose'
import { ConfigError, DeniedError, MintError, UnavailableError } from '../../errors.js'
import { sha256Base64url } from '../digest.js'
import { Lru } from '../lru.js'
import { parseSpiffeId } from '../spiffe.js'
import { TXN_TOKEN_TYPE } from '../txn-wire.js'
import { WIT_HEADER, WPT_SCHEME } from '../wimse-wire.js'
import { WORKLOAD_TOKEN_TYP } from '../wire.js'
import { trustedFetchUrl } from '../trusted-url.js'
import { loadSigningKey, type SigningAlgorithm, type SigningKeyInput } from './signing-key.js'
import { unverifiedPayload } from './token-payload.js'
import type { WitSource } from './wit-source.js'
import { signWpt } from './wpt-mint.js'

const TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:'
const TOKEN_EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange'
const JWT_BEARER_ASSERTION = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer'

/** Subject token types a requester may present (`refresh_token` never, draft §13.3). */
export type TxnSubjectTokenType = 'access_token' | 'jwt' | 'id_token' | 'txn_token' | 'self_signed'
const SUBJECT_TYPES: ReadonlySet<string> = new Set(['access_token', 'jwt', 'id_token', 'txn_token', 'self_signed'])

/** Options of {@link createTxnTokenExchange}. */
export interface TxnTokenExchangeOptions {
  /** The TTS token endpoint, from trusted configuration (`https:`, or `http:` on loopback only). */
  tokenEndpoint: string
  /** The trust domain: the `audience` of every request, and the `aud` of every Txn-Token. */
  trustDomain: string
  /** This workload's SPIFFE ID: the OAuth client id and the `req_wl` the TTS records. */
  clientId: string
  /**
   * This workload's private key (Ed25519 or P-256), signing the `private_key_jwt` client assertion.
   * Give `key` and `kid`, or `wit`.
   */
  key?: SigningKeyInput | undefined
  /** The key id the TTS knows this key by. */
  kid?: string | undefined
  /**
   * Authenticate with this workload's WIT and a fresh proof (WPT, `aud` = the token endpoint) instead
   * of a registered key: for a TTS that trusts the workload issuer (`trust.workloadIssuers`). The
   * WIT's `sub` must be `clientId`.
   */
  wit?: WitSource | undefined
  /** Checked against the key type when given. */
  alg?: SigningAlgorithm | undefined
  /** The `aud` of the client assertion. @defaultValue the token endpoint URL */
  assertionAudience?: string | undefined
  /** Abort an exchange after this long (then 503). @defaultValue 2000 */
  timeoutMs?: number | undefined
  /**
   * Keep issued tokens for up to this long, per (subject token, scope, request details), so repeated
   * requests with the same access token skip the TTS. Off by default: while cached, a revocation at
   * the TTS (of the subject or the session) is not seen, and one Txn-Token (one `txn`) serves several
   * requests, so `txn` no longer names one request in the logs. @defaultValue 0 (off)
   */
  cacheTtlMs?: number | undefined
  /** Cached tokens kept. @defaultValue 1000 */
  cacheSize?: number | undefined
  /** The fetch implementation. @defaultValue `globalThis.fetch` */
  fetch?: typeof fetch | undefined
  /** Milliseconds clock. @defaultValue `Date.now` */
  clock?: (() => number) | undefined
}

/** One exchange request. */
export interface TxnTokenRequest {
  /** The subject token: the user's access token at the edge, a Txn-Token for a replacement. */
  subjectToken: string
  /** @defaultValue `'access_token'` */
  subjectTokenType?: TxnSubjectTokenType | undefined
  /** The purpose: one scope or several (space-joined). */
  scope: string | readonly string[]
  /** `request_context`: the request environment, feeds `rctx`. */
  requestContext?: Readonly<Record<string, unknown>> | undefined
  /** `request_details`: the route parameters the transaction is fixed to, feeds `tctx`. */
  requestDetails?: Readonly<Record<string, unknown>> | undefined
}

/** A Txn-Token the TTS issued. */
export interface IssuedTxnToken {
  /** The compact Txn-Token, to send in the `Txn-Token` header. */
  readonly token: string
  /** Its `txn`. */
  readonly txn: string
  /** Its `scope`, split. */
  readonly scope: readonly string[]
  /** Its `exp` in epoch ms. */
  readonly expiresAt: number
}

/** The requesting side of a Txn-Token Service. */
export interface TxnTokenExchange {
  /** The trust domain tokens are requested for. */
  readonly trustDomain: string
  /** This workload's SPIFFE ID (the `req_wl` of the tokens it gets). */
  readonly clientId: string
  /**
   * Exchanges a subject token for a Txn-Token.
   *
   * @throws DeniedError `txn_token_denied` (403) when the TTS refuses; UnavailableError
   *   `txn_token_service_unavailable` (503) when it cannot be reached, is slow or answers badly
   */
  exchange(request: TxnTokenRequest): Promise<IssuedTxnToken>
  /**
   * A replacement Txn-Token for a downstream call: same `txn`, `sub` and `aud`, a scope no wider
   * than `txnToken`'s (the TTS refuses wider ones).
   *
   * @throws as {@link TxnTokenExchange.exchange}
   */
  replace(txnToken: string, scope: string | readonly string[], requestDetails?: Readonly<Record<string, unknown>>): Promise<IssuedTxnToken>
}

function scopeString(scope: string | readonly string[]): string {
  const list = typeof scope === 'string' ? scope.split(' ') : [...scope]
  const clean = list.filter((s) => s.length > 0)
  if (clean.length === 0 || clean.some((s) => typeof s !== 'string' || /[\s"\\]/.test(s))) {
    throw new ConfigError('txnTokens.scope', 'must name at least one scope without spaces')
  }
  return clean.join(' ')
}

/** A failure to reach or understand the TTS: 503, never a fallback. */
const unavailable = (message: string, cause?: unknown): UnavailableError =>
  new UnavailableError('txn_token_service_unavailable', message, { cause })

/** Reads the issued Txn-Token's own claims (the TTS answered over an authenticated channel; receivers verify). */
function issuedOf(token: string, nowMs: number): IssuedTxnToken {
  const payload = unverifiedPayload(token, 16_384)
  if (payload === undefined) throw unavailable('the Txn-Token Service issued no compact JWS')
  const { txn, exp, scope } = payload
  if (typeof txn !== 'string' || typeof exp !== 'number' || typeof scope !== 'string' || exp * 1000 <= nowMs) {
    throw unavailable('the Txn-Token Service issued a token without txn, scope or a future exp')
  }
  return Object.freeze({ token, txn, scope: Object.freeze(scope.split(' ').filter((s) => s.length > 0)), expiresAt: exp * 1000 })
}

/** Races a promise against the timeout, so a fetch that ignores its abort signal cannot hold a request. */
async function within<T>(promise: Promise<T>, timeoutMs: number, onTimeout: () => void): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      onTimeout()
      reject(unavailable(`the Txn-Token Service did not answer within ${timeoutMs} ms`))
    }, timeoutMs)
  })
  try {
    return await Promise.race([promise, timeout])
  } finally {
    clearTimeout(timer)
  }
}

/**
 * Creates the requesting side of a Txn-Token Service.
 *
 * @example
 * ```ts
 * const txnTokens = createTxnTokenExchange({
 *   tokenEndpoint: 'https://tts.example.org/token',
 *   trustDomain: 'example.org',
 *   clientId: 'spiffe://example.org/ns/edge/sa/gateway',
 *   key: { file: '/etc/keys/gateway.pem' },
 *   kid: 'gateway-1',
 * })
 * const { token } = await txnTokens.exchange({ subjectToken: accessToken, scope: 'review.read' })
 * ```
 * @throws ConfigError for bad options
 */
export function createTxnTokenExchange(options: TxnTokenExchangeOptions): TxnTokenExchange {
  if (typeof options !== 'object' || (options as unknown) === null) throw new ConfigError('txnTokens', 'must be an object')
  const endpoint = trustedFetchUrl(options.tokenEndpoint, 'txnTokens.tokenEndpoint')
  if (typeof options.trustDomain !== 'string' || options.trustDomain === '') throw new ConfigError('txnTokens.trustDomain', 'is required')
  let clientId: string
  try {
    clientId = parseSpiffeId(options.clientId).id
  } catch (err) {
    throw new ConfigError('txnTokens.clientId', 'must be this workload’s SPIFFE ID', { cause: err })
  }
  const witSource = options.wit
  if (witSource !== undefined && typeof (witSource as typeof witSource | null)?.current !== 'function') throw new ConfigError('txnTokens.wit', 'must be a WIT source (current())')
  if (witSource !== undefined && (options.key !== undefined || options.kid !== undefined)) {
    throw new ConfigError('txnTokens.wit', 'authenticates in place of key and kid: give one or the other')
  }
  const signing = witSource === undefined ? loadSigningKey(options.key as SigningKeyInput, options.kid as string, 'txnTokens', options.alg) : undefined
  const assertionAudience = options.assertionAudience ?? endpoint.href
  const timeoutMs = options.timeoutMs ?? 2000
  if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) throw new ConfigError('txnTokens.timeoutMs', 'must be a positive number')
  const cacheTtlMs = options.cacheTtlMs ?? 0
  if (!Number.isFinite(cacheTtlMs) || cacheTtlMs < 0) throw new ConfigError('txnTokens.cacheTtlMs', 'must be a non-negative number')
  const cache = cacheTtlMs > 0 ? new Lru<string, { issued: IssuedTxnToken; until: number }>(options.cacheSize ?? 1000) : undefined
  const fetchImpl = options.fetch ?? globalThis.fetch
  const clock = options.clock ?? Date.now
  const trustDomain = options.trustDomain

  async function clientAssertion(key: NonNullable<typeof signing>): Promise<string> {
    const now = Math.floor(clock() / 1000)
    return new SignJWT({})
      // The shape of a self-signed workload token for the token endpoint: the TTS verifies it with the
      // trust anchors it already holds for this workload.
      .setProtectedHeader({ alg: key.alg, kid: key.kid, typ: WORKLOAD_TOKEN_TYP })
      .setIssuer(clientId)
      .setSubject(clientId)
      .setAudience(assertionAudience)
      .setIssuedAt(now)
      .setExpirationTime(now + 60)
      .setJti(randomUUID())
      .sign(key.key)
  }

  /** How this request authenticates: form parameters (`private_key_jwt`) or headers (WIT + WPT). */
  async function clientAuthentication(): Promise<{ form: Record<string, string>; headers: Record<string, string> }> {
    if (signing !== undefined) {
      return { form: { client_assertion_type: JWT_BEARER_ASSERTION, client_assertion: await clientAssertion(signing) }, headers: {} }
    }
    let credential
    try {
      credential = await (witSource as WitSource).current()
    } catch (err) {
      throw unavailable('no WIT to authenticate to the Txn-Token Service with', err)
    }
    if (credential.sub !== clientId) throw new MintError('wit_subject_mismatch', 'the WIT names another workload than txnTokens.clientId')
    const now = Math.floor(clock() / 1000)
    if (credential.expiresAt <= now) throw new MintError('wit_expired', 'the WIT has expired')
    const proof = signWpt(credential, { aud: endpoint.href, exp: Math.min(now + 60, credential.expiresAt) })
    return { form: {}, headers: { [WIT_HEADER]: credential.wit, authorization: `${WPT_SCHEME} ${proof}` } }
  }

  async function post(body: URLSearchParams, authHeaders: Record<string, string>): Promise<{ status: number; json: Record<string, unknown> }> {
    const controller = new AbortController()
    const call = (async () => {
      let response: Response
      try {
        response = await fetchImpl(endpoint, {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json', ...authHeaders },
          body,
          redirect: 'manual',
          signal: controller.signal,
        })
      } catch (err) {
        throw unavailable('the Txn-Token Service cannot be reached', err)
      }
      let json: unknown
      try {
        json = await response.json()
      } catch (err) {
        throw unavailable(`the Txn-Token Service answered ${response.status} without JSON`, err)
      }
      if (typeof json !== 'object' || json === null || Array.isArray(json)) throw unavailable('the Txn-Token Service answered no JSON object')
      return { status: response.status, json: json as Record<string, unknown> }
    })()
    return within(call, timeoutMs, () => controller.abort())
  }

  async function exchangeNow(request: TxnTokenRequest): Promise<IssuedTxnToken> {
    const subjectType = request.subjectTokenType ?? 'access_token'
    if (!SUBJECT_TYPES.has(subjectType)) throw new ConfigError('txnTokens.subjectTokenType', 'is not a Txn-Token subject token type')
    if (typeof request.subjectToken !== 'string' || request.subjectToken === '') {
      throw new DeniedError('no subject token to exchange', { reason: 'txn_token_denied' })
    }
    const auth = await clientAuthentication()
    const body = new URLSearchParams({
      grant_type: TOKEN_EXCHANGE,
      requested_token_type: TXN_TOKEN_TYPE,
      audience: trustDomain,
      scope: scopeString(request.scope),
      subject_token: request.subjectToken,
      subject_token_type: `${TOKEN_TYPE}${subjectType}`,
      client_id: clientId,
      ...auth.form,
    })
    if (request.requestContext !== undefined) body.set('request_context', JSON.stringify(request.requestContext))
    if (request.requestDetails !== undefined) body.set('request_details', JSON.stringify(request.requestDetails))
    const { status, json } = await post(body, auth.headers)
    if (status >= 400 && status < 500) {
      // The OAuth error code is safe to surface; the description may not be.
      const code = typeof json['error'] === 'string' && /^[a-z_]{1,64}$/.test(json['error']) ? json['error'] : `http_${status}`
      throw new DeniedError(`the Txn-Token Service refused the exchange (${code})`, { reason: 'txn_token_denied' })
    }
    if (status !== 200) throw unavailable(`the Txn-Token Service answered ${status}`)
    const token = json['access_token']
    if (json['issued_token_type'] !== TXN_TOKEN_TYPE || json['token_type'] !== 'N_A' || typeof token !== 'string' || json['refresh_token'] !== undefined) {
      throw unavailable('the Txn-Token Service answered without a Txn-Token (issued_token_type, token_type N_A, no refresh_token)')
    }
    return issuedOf(token, clock())
  }

  async function exchange(request: TxnTokenRequest): Promise<IssuedTxnToken> {
    if (cache === undefined) return exchangeNow(request)
    const key = JSON.stringify([
      // eslint-disable-next-line @typescript-eslint/no-unnecessary-type-conversion -- subjectToken is the caller's, a string only by its type
      sha256Base64url(String(request.subjectToken)),
      request.subjectTokenType ?? 'access_token',
      scopeString(request.scope),
      request.requestContext ?? null,
      request.requestDetails ?? null,
    ])
    const now = clock()
    const hit = cache.get(key)
    // Never hand out a token about to expire: it must still outlive the request that forwards it.
    if (hit !== undefined && now < hit.until && now < hit.issued.expiresAt - 30_000) return hit.issued
    const issued = await exchangeNow(request)
    cache.set(key, { issued, until: now + cacheTtlMs })
    return issued
  }

  return Object.freeze({
    trustDomain,
    clientId,
    exchange,
    replace: (txnToken: string, scope: string | readonly string[], requestDetails?: Readonly<Record<string, unknown>>) =>
      exchangeNow({ subjectToken: txnToken, subjectTokenType: 'txn_token', scope, requestDetails }),
  })
}
