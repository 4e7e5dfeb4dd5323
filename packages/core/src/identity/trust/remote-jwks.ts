import { ConfigError, IdentityError, UnavailableError } from '../../errors.js'
import { toKeyMap } from './jwk.js'
import { fetchFailure, fetchJson, trustedFetchUrl, withDeadline } from './remote-document.js'
import type { KeyEntry, KeyStore, KeyStoreContext, RemoteJwksOptions } from './types.js'

const MAX_JWKS_BYTES = 512 * 1024

function positive(value: number | undefined, fallback: number, option: string): number {
  if (value === undefined) return fallback
  if (!Number.isFinite(value) || value < 0) throw new ConfigError(option, 'must be a non-negative number of milliseconds')
  return value
}

/**
 * A JWKS fetched over HTTP with the limits a verifier needs under attack and outage:
 * - one fetch at a time (concurrent callers share it), aborted after `timeoutMs`; nobody waits longer
 *   than that for it, even if the fetch implementation ignores the abort;
 * - stale-while-revalidate: once keys are older than `cacheMaxAgeMs`, a known `kid` is answered at once
 *   from the stale set while one refresh runs in the background, so a slow or hanging endpoint adds no
 *   latency to requests the known keys can answer; only lookups the stale set cannot answer (an
 *   unknown `kid`, no keys yet, keys past the stale window) wait for the refresh;
 * - an unknown `kid` triggers a refetch only once per `cooldownMs`, so random kids cannot cause a fetch storm;
 * - keys older than `cacheMaxAgeMs` are refreshed; if that fails, known keys are still served for at most
 *   `staleIfErrorMs` more, then every lookup fails closed with `jwks_unavailable` (503);
 * - a refreshed set replaces the old one entirely, so a removed (compromised) key stops verifying.
 */
export class RemoteJwks implements KeyStore {
  readonly source: string
  /** The JWKS URL as configured (normalized). */
  readonly href: string
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
  /** Counts fetches, so a fetch that outlived its deadline cannot overwrite a newer result. */
  private generation = 0

  constructor(
    options: RemoteJwksOptions,
    option: string,
    private readonly context: KeyStoreContext,
  ) {
    const url = trustedFetchUrl(options.jwksUrl, option)
    this.url = url
    this.href = url.href
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
    return this.getKeyStaleOrRefreshing(kid)
  }

  /**
   * Stale-while-revalidate: a known kid in a set past `cacheMaxAgeMs` but inside the stale window
   * answers at once and starts (or joins) one background refresh; anything else may fetch first.
   */
  private getKeyStaleOrRefreshing(kid: string): Promise<KeyEntry> | KeyEntry {
    const keys = this.keys
    if (keys !== undefined && keys.has(kid) && this.context.clock() - this.fetchedAt < this.cacheMaxAgeMs + this.staleIfErrorMs) {
      // refresh() never rejects: a failed fetch is reported as an event and the stale set stays.
      void this.refresh(false)
      return this.lookup(kid)
    }
    return this.getKeyRefreshing(kid)
  }

  currentKey(kid: string): KeyEntry | undefined {
    // Only a fresh set that has the kid, minus the event. A stale set answers through getKey, which
    // also starts the background refresh, so a cached verification goes there once keys are stale.
    const keys = this.keys
    return keys !== undefined && this.context.clock() - this.fetchedAt < this.cacheMaxAgeMs ? keys.get(kid) : undefined
  }

  /** A key lookup that may fetch first: none fetched yet, the set is past its stale window, or the kid is new. */
  private async getKeyRefreshing(kid: string): Promise<KeyEntry> {
    const now = this.context.clock()
    if (this.keys === undefined) {
      await this.refresh(true)
    } else if (now - this.fetchedAt >= this.cacheMaxAgeMs) {
      await this.refresh(false)
    } else if (!this.keys.has(kid)) {
      if (this.inflight !== undefined || now - this.attemptedAt >= this.cooldownMs) await this.refresh(false)
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
    this.inflight = this.fetchWithDeadline().finally(() => {
      this.inflight = undefined
    })
    return this.inflight
  }

  /** Runs one fetch, settled by `timeoutMs` at the latest; a result after the deadline is discarded. */
  private fetchWithDeadline(): Promise<void> {
    const generation = ++this.generation
    return withDeadline(
      this.timeoutMs,
      (signal) => this.fetchKeys(signal, generation),
      () => {
        if (generation === this.generation) this.generation++
        this.context.emit({ type: 'jwks_fetch_failed', source: this.source, error: 'timeout' })
      },
    )
  }

  private async fetchKeys(signal: AbortSignal, generation: number): Promise<void> {
    const started = performance.now()
    try {
      const json = await fetchJson({ url: this.url, headers: this.headers, fetch: this.fetchImpl, maxBytes: MAX_JWKS_BYTES, label: 'JWKS' }, signal)
      const keys = toKeyMap(json, (reason) => this.context.emit({ type: 'jwk_ignored', source: this.source, reason }), this.context.keyUses)
      // Past its deadline this fetch was already reported as failed; a newer one may be running.
      if (generation !== this.generation) return
      this.keys = keys
      this.fetchedAt = this.context.clock()
      this.context.emit({ type: 'jwks_fetched', source: this.source, keys: keys.size, durationMs: performance.now() - started })
    } catch (err) {
      if (generation !== this.generation) return
      this.context.emit({ type: 'jwks_fetch_failed', source: this.source, error: fetchFailure(err) })
    }
  }
}
