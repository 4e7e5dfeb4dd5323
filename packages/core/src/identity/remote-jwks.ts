import { ConfigError, IdentityError, UnavailableError } from '../errors.js'
import { toKeyMap, type KeyEntry } from './jwk.js'
import type { KeyStore, KeyStoreContext } from './key-store.js'
import type { RemoteJwksOptions } from './types.js'

const MAX_JWKS_BYTES = 512 * 1024
const LOOPBACK_HOSTS = new Set(['127.0.0.1', '[::1]', 'localhost'])

function positive(value: number | undefined, fallback: number, option: string): number {
  if (value === undefined) return fallback
  if (!Number.isFinite(value) || value < 0) throw new ConfigError(option, 'must be a non-negative number of milliseconds')
  return value
}

/**
 * A JWKS fetched over HTTP with the limits a verifier needs under attack and outage:
 * - one fetch at a time (concurrent callers share it), aborted after `timeoutMs`;
 * - an unknown `kid` triggers a refetch only once per `cooldownMs`, so random kids cannot cause a fetch storm;
 * - keys older than `cacheMaxAgeMs` are refreshed; if that fails, known keys are still served for at most
 *   `staleIfErrorMs` more, then every lookup fails closed with `jwks_unavailable` (503);
 * - a refreshed set replaces the old one entirely, so a removed (compromised) key stops verifying.
 */
export class RemoteJwks implements KeyStore {
  readonly source: string
  private readonly url: URL
  private readonly timeoutMs: number
  private readonly cooldownMs: number
  private readonly cacheMaxAgeMs: number
  private readonly staleIfErrorMs: number
  private readonly headers: Record<string, string>
  private readonly fetchImpl: typeof fetch
  private keys: Map<string, KeyEntry> | undefined
  /** When the current keys were fetched (epoch ms). */
  private fetchedAt = 0
  /** When the last fetch was started, successful or not. */
  private attemptedAt = Number.NEGATIVE_INFINITY
  private inflight: Promise<void> | undefined

  constructor(
    options: RemoteJwksOptions,
    option: string,
    private readonly context: KeyStoreContext,
  ) {
    let url: URL
    try {
      url = new URL(options.jwksUrl)
    } catch {
      throw new ConfigError(option, 'is not a valid URL')
    }
    if (url.protocol !== 'https:' && !(url.protocol === 'http:' && LOOPBACK_HOSTS.has(url.hostname))) {
      throw new ConfigError(option, 'must use https (plain http only on loopback)')
    }
    if (url.username || url.password) throw new ConfigError(option, 'must not carry credentials')
    this.url = url
    this.source = url.origin + url.pathname
    this.timeoutMs = positive(options.timeoutMs, 5000, option.replace(/jwksUrl$/, 'timeoutMs'))
    this.cooldownMs = positive(options.cooldownMs, 30_000, option.replace(/jwksUrl$/, 'cooldownMs'))
    this.cacheMaxAgeMs = positive(options.cacheMaxAgeMs, 600_000, option.replace(/jwksUrl$/, 'cacheMaxAgeMs'))
    this.staleIfErrorMs = positive(options.staleIfErrorMs, 3_600_000, option.replace(/jwksUrl$/, 'staleIfErrorMs'))
    this.headers = { accept: 'application/jwk-set+json, application/json', ...options.headers }
    this.fetchImpl = options.fetch ?? globalThis.fetch
  }

  getKey(kid: string): Promise<KeyEntry> | KeyEntry {
    // The hot path: a fresh key set that has the kid answers without a promise.
    const keys = this.keys
    if (keys !== undefined && keys.has(kid) && this.context.clock() - this.fetchedAt < this.cacheMaxAgeMs) return this.lookup(kid)
    return this.getKeyRefreshing(kid)
  }

  currentKey(kid: string): KeyEntry | undefined {
    // Exactly the case getKey answers without a promise (a fresh set has the kid), minus the event.
    const keys = this.keys
    return keys !== undefined && this.context.clock() - this.fetchedAt < this.cacheMaxAgeMs ? keys.get(kid) : undefined
  }

  /** A key lookup that may fetch first: none fetched yet, the set is old, or the kid is new. */
  private async getKeyRefreshing(kid: string): Promise<KeyEntry> {
    const now = this.context.clock()
    if (this.keys === undefined) {
      await this.refresh(true)
    } else if (now - this.fetchedAt >= this.cacheMaxAgeMs) {
      await this.refresh(false)
    } else if (!this.keys.has(kid)) {
      if (now - this.attemptedAt >= this.cooldownMs) await this.refresh(false)
      else this.context.emit({ type: 'jwks_refresh_suppressed', source: this.source })
    }
    return this.lookup(kid)
  }

  private lookup(kid: string): KeyEntry {
    const keys = this.keys
    const age = this.context.clock() - this.fetchedAt
    if (keys === undefined || age >= this.cacheMaxAgeMs + this.staleIfErrorMs) {
      this.context.emit({ type: 'jwks_unavailable', source: this.source })
      throw new UnavailableError('jwks_unavailable', 'the key set of a trusted issuer cannot be fetched')
    }
    const key = keys.get(kid)
    if (key === undefined) throw new IdentityError('unknown_key', 'no trusted key matches the token kid')
    if (age >= this.cacheMaxAgeMs) this.context.emit({ type: 'jwks_stale_served', source: this.source, ageMs: age })
    return key
  }

  /** Fetches unless a fetch is running (then waits for it) or failed within the cooldown. */
  private refresh(initial: boolean): Promise<void> {
    if (this.inflight !== undefined) return this.inflight
    const now = this.context.clock()
    // After a failure, wait out the cooldown instead of hammering a struggling endpoint.
    if (!initial && now - this.attemptedAt < this.cooldownMs) {
      this.context.emit({ type: 'jwks_refresh_suppressed', source: this.source })
      return Promise.resolve()
    }
    if (initial && this.attemptedAt !== Number.NEGATIVE_INFINITY && now - this.attemptedAt < Math.min(this.cooldownMs, 1000)) {
      return Promise.resolve()
    }
    this.attemptedAt = now
    this.inflight = this.fetchKeys().finally(() => {
      this.inflight = undefined
    })
    return this.inflight
  }

  private async fetchKeys(): Promise<void> {
    const started = performance.now()
    try {
      const response = await this.fetchImpl(this.url, {
        headers: this.headers,
        redirect: 'manual',
        signal: AbortSignal.timeout(this.timeoutMs),
      })
      if (response.status !== 200) {
        await response.body?.cancel().catch(() => undefined)
        throw new Error(`HTTP ${response.status}`)
      }
      const declared = Number(response.headers.get('content-length') ?? 0)
      if (declared > MAX_JWKS_BYTES) {
        await response.body?.cancel().catch(() => undefined)
        throw new Error('JWKS larger than 512 KiB')
      }
      const text = await response.text()
      if (text.length > MAX_JWKS_BYTES) throw new Error('JWKS larger than 512 KiB')
      const keys = toKeyMap(JSON.parse(text), (reason) =>
        this.context.emit({ type: 'jwk_ignored', source: this.source, reason }),
      )
      this.keys = keys
      this.fetchedAt = this.context.clock()
      this.context.emit({ type: 'jwks_fetched', source: this.source, keys: keys.size, durationMs: performance.now() - started })
    } catch (err) {
      const error = err instanceof Error ? (err.name === 'TimeoutError' ? 'timeout' : err.message) : 'fetch failed'
      this.context.emit({ type: 'jwks_fetch_failed', source: this.source, error })
    }
  }
}
