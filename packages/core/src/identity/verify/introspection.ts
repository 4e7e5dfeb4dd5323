/**
 * Token introspection (RFC 7662) for opaque access tokens at the edge: the authorization server is
 * asked whether the token is active and what it stands for. Answers are reused for a bounded time
 * (never past the token's `exp`), only active answers are kept, and every failure to get a usable
 * answer fails closed (`introspection_unavailable`).
 */
import { createHash } from 'node:crypto'
import { ConfigError, IdentityError, UnavailableError } from '../../errors.js'
import { deepFreeze } from '../../internal/deep-freeze.js'
import type { MaybePromise } from '../../internal/maybe-async.js'
import { checkActorAudience, checkTimes } from './claims.js'
import { bareRecord } from '../../internal/own.js'
import { Lru } from '../lru.js'
import { ProviderDiscovery } from '../trust/discovery.js'
import { trustedFetchUrl } from '../trust/remote-document.js'
import type { ResolvedActorIssuer, TrustBundle } from '../trust/trust-bundle.js'
import type { KeyStoreContext } from '../trust/types.js'

/** Options of introspection at the edge (`introspection`). */
export interface IntrospectionOptions {
  /** The issuer of the opaque tokens: one of the trust bundle's `actors` (its audiences, ages and mapping apply). */
  issuer: string
  /** The introspection endpoint. @defaultValue the `introspection_endpoint` of the issuer's discovery document */
  endpoint?: string | undefined
  /** This service's client id at the authorization server (client_secret_basic). */
  clientId: string
  clientSecret: string
  /** How long an active answer is reused (never past the token's `exp`); 0 asks every time. @defaultValue 30000 */
  cacheTtlMs?: number | undefined
  /** Answers kept. @defaultValue 10000 */
  cacheSize?: number | undefined
  /** Abort a request after this long. @defaultValue 5000 */
  timeoutMs?: number | undefined
  /** The fetch implementation. @defaultValue `globalThis.fetch` */
  fetch?: typeof fetch | undefined
}

/** What introspection says about an active token, as a verified actor token would. */
export interface IntrospectedToken {
  readonly claims: Readonly<Record<string, unknown>>
  readonly issuer: ResolvedActorIssuer
  /** `exp`, seconds. */
  readonly exp: number
}

interface Answer {
  readonly token: IntrospectedToken
  readonly at: number
}

const MAX_RESPONSE_BYTES = 64 * 1024

/** The per-edge introspection client. */
export class Introspection {
  private readonly issuerName: string
  private readonly endpoint: URL | undefined
  private readonly discovery: ProviderDiscovery | undefined
  private readonly authorization: string
  private readonly cacheTtlMs: number
  private readonly timeoutMs: number
  private readonly fetchImpl: typeof fetch
  private readonly answers: Lru<string, Answer>

  constructor(
    options: IntrospectionOptions,
    private readonly trust: TrustBundle,
    private readonly tolerance: number,
    private readonly context: KeyStoreContext,
  ) {
    const option = 'edge.introspection'
    if (typeof options !== 'object' || (options as unknown) === null) throw new ConfigError(option, 'must be an object')
    if (typeof options.issuer !== 'string' || trust.actorIssuer(options.issuer) === undefined) {
      throw new ConfigError(`${option}.issuer`, 'must be one of the trusted actor issuers')
    }
    this.issuerName = options.issuer
    if (typeof options.clientId !== 'string' || options.clientId === '') throw new ConfigError(`${option}.clientId`, 'must be a non-empty string')
    if (typeof options.clientSecret !== 'string' || options.clientSecret === '') throw new ConfigError(`${option}.clientSecret`, 'must be a non-empty string')
    // RFC 6749 §2.3.1: both parts form-encoded before base64.
    const basic = Buffer.from(`${formEncode(options.clientId)}:${formEncode(options.clientSecret)}`).toString('base64')
    this.authorization = `Basic ${basic}`
    this.endpoint = options.endpoint === undefined ? undefined : trustedFetchUrl(options.endpoint, `${option}.endpoint`)
    this.discovery = this.endpoint === undefined ? new ProviderDiscovery(options.issuer, { fetch: options.fetch }, `${option}.discovery`, context) : undefined
    this.cacheTtlMs = nonNegative(options.cacheTtlMs, 30_000, `${option}.cacheTtlMs`)
    this.timeoutMs = nonNegative(options.timeoutMs, 5000, `${option}.timeoutMs`)
    const cacheSize = options.cacheSize ?? 10_000
    if (!Number.isInteger(cacheSize) || cacheSize < 0) throw new ConfigError(`${option}.cacheSize`, 'must be an integer ≥ 0')
    this.answers = new Lru(cacheSize)
    this.fetchImpl = options.fetch ?? globalThis.fetch
  }

  /**
   * What the authorization server says about an opaque token, checked like a verified actor token
   * (issuer, audience, times).
   * @throws IdentityError `token_inactive` and the claim reasons; UnavailableError `introspection_unavailable`
   */
  introspect(token: string): MaybePromise<IntrospectedToken> {
    const key = createHash('sha256').update(token).digest('base64url')
    const nowMs = this.context.clock()
    const known = this.answers.get(key)
    if (known !== undefined && nowMs - known.at < this.cacheTtlMs && nowMs < known.token.exp * 1000) {
      this.checkClaims(known.token.claims, known.token.issuer, nowMs)
      return known.token
    }
    return this.ask(token).then((claims) => {
      const issuer = this.trust.actorIssuer(this.issuerName) as ResolvedActorIssuer
      const exp = this.checkClaims(claims, issuer, this.context.clock())
      const answer = Object.freeze({ claims, issuer, exp })
      this.answers.set(key, { token: answer, at: nowMs })
      return answer
    })
  }

  /** The checks a verified actor token passes, on the introspected claims. @returns `exp` */
  private checkClaims(claims: Readonly<Record<string, unknown>>, issuer: ResolvedActorIssuer, nowMs: number): number {
    const iss = claims['iss']
    if (iss !== undefined && iss !== issuer.issuer) throw new IdentityError('unknown_issuer', 'the introspected token is of another issuer')
    const exp = checkTimes(claims, { now: Math.floor(nowMs / 1000), tolerance: this.tolerance, maxLifetime: issuer.maxLifetime, requireIat: false })
    const sub = claims['sub']
    if (typeof sub !== 'string' || sub.length === 0 || sub.length > 512) throw new IdentityError('claim_missing', 'the introspected token has no valid "sub"')
    checkActorAudience(claims, issuer.audiences)
    return exp
  }

  private async endpointUrl(): Promise<URL> {
    if (this.endpoint !== undefined) return this.endpoint
    const metadata = await (this.discovery as ProviderDiscovery).metadata()
    if (metadata.introspectionEndpoint === undefined) {
      throw new UnavailableError('introspection_unavailable', 'the issuer publishes no introspection endpoint')
    }
    return new URL(metadata.introspectionEndpoint)
  }

  private async ask(token: string): Promise<Readonly<Record<string, unknown>>> {
    const url = await this.endpointUrl()
    let body: unknown
    try {
      const response = await this.fetchImpl(url, {
        method: 'POST',
        headers: { authorization: this.authorization, 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
        body: new URLSearchParams({ token, token_type_hint: 'access_token' }).toString(),
        redirect: 'manual',
        signal: AbortSignal.timeout(this.timeoutMs),
      })
      const text = await response.text()
      if (response.status !== 200) throw new Error(`HTTP ${response.status}`)
      if (text.length > MAX_RESPONSE_BYTES) throw new Error('introspection response too large')
      body = JSON.parse(text)
    } catch (err) {
      throw new UnavailableError('introspection_unavailable', 'the introspection endpoint cannot be reached or answered badly', { cause: err })
    }
    if (typeof body !== 'object' || body === null || Array.isArray(body) || typeof (body as { active?: unknown }).active !== 'boolean') {
      throw new UnavailableError('introspection_unavailable', 'the introspection response has no boolean "active"')
    }
    if (!(body as { active: boolean }).active) throw new IdentityError('token_inactive', 'the access token is not active')
    // Own members only, on an object without a prototype.
    const claims = bareRecord()
    for (const [name, value] of Object.entries(body)) if (name !== 'active') claims[name] = value
    // A client-credentials token stands for its client (RFC 9068 §2.2), which introspection names in `client_id` only.
    if (claims['sub'] === undefined && typeof claims['client_id'] === 'string') claims['sub'] = claims['client_id']
    return deepFreeze(claims)
  }
}

function formEncode(value: string): string {
  return encodeURIComponent(value).replace(/%20/g, '+')
}

function nonNegative(value: number | undefined, fallback: number, option: string): number {
  if (value === undefined) return fallback
  if (!Number.isFinite(value) || value < 0) throw new ConfigError(option, 'must be a non-negative number of milliseconds')
  return value
}
