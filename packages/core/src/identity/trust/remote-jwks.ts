import { IdentityError, UnavailableError } from '../../errors.js'
import { toKeyMap } from './jwk.js'
import { fetchJson, refreshRules, trustedFetchUrl, type RefreshRules } from './remote-document.js'
import { SingleFlightFetch } from './single-flight-fetch.js'
import type { KeyEntry, KeyStore, KeyStoreContext, RemoteJwksOptions } from './types.js'

const MAX_JWKS_BYTES = 512 * 1024

const DEFAULT_RULES: RefreshRules = Object.freeze({ timeoutMs: 5000, cooldownMs: 30_000, cacheMaxAgeMs: 600_000, staleIfErrorMs: 3_600_000 })

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
  private readonly cooldownMs: number
  private readonly cacheMaxAgeMs: number
  private readonly staleIfErrorMs: number
  private keys: Map<string, KeyEntry> | undefined
  /** When the current keys were fetched (epoch ms). */
  private fetchedAt = 0
  /** When the last fetch was started, successful or not. */
  private attemptedAt = Number.NEGATIVE_INFINITY
  private readonly fetcher: SingleFlightFetch<Map<string, KeyEntry>>

  constructor(
    options: RemoteJwksOptions,
    option: string,
    private readonly context: KeyStoreContext,
  ) {
    const url = trustedFetchUrl(options.jwksUrl, option)
    this.href = url.href
    this.source = url.origin + url.pathname
    const rules = refreshRules(options, option.replace(/\.?jwksUrl$/, ''), DEFAULT_RULES)
    this.cooldownMs = rules.cooldownMs
    this.cacheMaxAgeMs = rules.cacheMaxAgeMs
    this.staleIfErrorMs = rules.staleIfErrorMs
    const request = { url, headers: { accept: 'application/jwk-set+json, application/json', ...options.headers }, fetch: options.fetch ?? globalThis.fetch, maxBytes: MAX_JWKS_BYTES, label: 'JWKS' }
    const ignored = (reason: string): void => {
      context.emit({ type: 'jwk_ignored', source: this.source, reason })
    }
    this.fetcher = new SingleFlightFetch(rules.timeoutMs, async (signal) => toKeyMap(await fetchJson(request, signal), ignored, context.keyUses), {
      loaded: (keys, durationMs) => {
        this.keys = keys
        this.fetchedAt = context.clock()
        context.emit({ type: 'jwks_fetched', source: this.source, keys: keys.size, durationMs })
      },
      failed: (error) => {
        context.emit({ type: 'jwks_fetch_failed', source: this.source, error })
      },
    })
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
      if (this.fetcher.running || now - this.attemptedAt >= this.cooldownMs) await this.refresh(false)
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
    if (this.fetcher.running) return this.fetcher.start()
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
    return this.fetcher.start()
  }
}
