import { ConfigError } from '../../errors.js'
import { SingleFlightFetch } from './single-flight-fetch.js'

export { trustedFetchUrl } from '../trusted-url.js'

/** The refresh rules of a fetched document, in milliseconds. */
export interface RefreshRules {
  /** Abort a fetch after this long; nobody waits longer for one. */
  readonly timeoutMs: number
  /** Minimum time between two fetches after a failure. */
  readonly cooldownMs: number
  /** The document is fresh this long after it was fetched. */
  readonly cacheMaxAgeMs: number
  /** Past `cacheMaxAgeMs`, the last document still answers this long while refreshing fails. */
  readonly staleIfErrorMs: number
}

/** Validates the millisecond options of {@link RefreshRules} (`<prefix>.timeoutMs`, …). */
export function refreshRules(
  options: Partial<Record<keyof RefreshRules, number | undefined>>,
  prefix: string,
  defaults: RefreshRules,
): RefreshRules {
  const read = (name: keyof RefreshRules): number => {
    const value = options[name]
    if (value === undefined) return defaults[name]
    if (!Number.isFinite(value) || value < 0) throw new ConfigError(`${prefix}.${name}`, 'must be a non-negative number of milliseconds')
    return value
  }
  return Object.freeze({
    timeoutMs: read('timeoutMs'),
    cooldownMs: read('cooldownMs'),
    cacheMaxAgeMs: read('cacheMaxAgeMs'),
    staleIfErrorMs: read('staleIfErrorMs'),
  })
}

/** What a {@link RemoteDocument} reports. Never contains document contents. */
export interface RemoteDocumentHooks {
  readonly clock: () => number // passed on unbound
  fetched(durationMs: number): void
  failed(error: string): void
}

/** How a fetch asks for the document. */
export interface DocumentRequest {
  readonly url: URL
  readonly headers: Record<string, string>
  readonly fetch: typeof fetch
  /** Largest body accepted. */
  readonly maxBytes: number
  /** What the document is, in failure messages (`JWKS`, `document`). @defaultValue `'document'` */
  readonly label?: string | undefined
}

/**
 * GETs a JSON document: no redirects, status 200 only, at most `maxBytes` (by the declared length
 * before reading, and by what arrived), then parsed.
 * @throws Error with a short cause (`HTTP 503`, `JWKS larger than 512 KiB`, a JSON syntax error)
 */
export async function fetchJson(request: DocumentRequest, signal: AbortSignal): Promise<unknown> {
  const { url, headers, maxBytes } = request
  const tooLarge = (): Error => new Error(`${request.label ?? 'document'} larger than ${maxBytes / 1024} KiB`)
  const response = await request.fetch(url, { headers, redirect: 'manual', signal })
  if (response.status !== 200) {
    await response.body?.cancel().catch(() => undefined)
    throw new Error(`HTTP ${response.status}`)
  }
  if (Number(response.headers.get('content-length') ?? 0) > maxBytes) {
    await response.body?.cancel().catch(() => undefined)
    throw tooLarge()
  }
  const text = await response.text()
  if (text.length > maxBytes) throw tooLarge()
  return JSON.parse(text)
}

/**
 * A JSON document fetched over HTTP and kept under the same rules as a remote JWKS: one fetch at a
 * time, aborted at `timeoutMs`; fresh for `cacheMaxAgeMs`; then stale-while-revalidate (the last
 * document answers at once while one background refresh runs) for at most `staleIfErrorMs` more;
 * after a failure, no new fetch within `cooldownMs`; past the stale window nothing is answered.
 * `parse` validates the body; a body it rejects counts as a failed fetch and never replaces a good
 * document.
 */
export class RemoteDocument<T> {
  private document: T | undefined
  private fetchedAt = 0
  private attemptedAt = Number.NEGATIVE_INFINITY
  private readonly fetcher: SingleFlightFetch<T>

  constructor(
    request: DocumentRequest,
    private readonly rules: RefreshRules,
    parse: (json: unknown) => T,
    private readonly hooks: RemoteDocumentHooks,
  ) {
    this.fetcher = new SingleFlightFetch(rules.timeoutMs, async (signal) => parse(await fetchJson(request, signal)), {
      loaded: (document, durationMs) => {
        this.document = document
        this.fetchedAt = hooks.clock()
        hooks.fetched(durationMs)
      },
      failed: (error) => {
        hooks.failed(error)
      },
    })
  }

  /** The document while fresh, without fetching; undefined otherwise. */
  fresh(): T | undefined {
    return this.document !== undefined && this.hooks.clock() - this.fetchedAt < this.rules.cacheMaxAgeMs ? this.document : undefined
  }

  /**
   * The document: at once while fresh, or while stale inside its window (starting one background
   * refresh); otherwise after a refresh. Undefined when no usable document can be had.
   */
  current(): T | undefined | Promise<T | undefined> {
    const age = this.hooks.clock() - this.fetchedAt
    if (this.document !== undefined && age < this.rules.cacheMaxAgeMs) return this.document
    if (this.document !== undefined && age < this.rules.cacheMaxAgeMs + this.rules.staleIfErrorMs) {
      // refresh() never rejects: a failure is reported and the stale document stays.
      void this.refresh()
      return this.document
    }
    return this.refresh().then(() => this.usable())
  }

  /** The document if it is inside its stale window now. */
  private usable(): T | undefined {
    const age = this.hooks.clock() - this.fetchedAt
    return this.document !== undefined && age < this.rules.cacheMaxAgeMs + this.rules.staleIfErrorMs ? this.document : undefined
  }

  /** Fetches unless a fetch is running (then shares it) or one failed within the cooldown. */
  refresh(): Promise<void> {
    if (this.fetcher.running) return this.fetcher.start()
    const now = this.hooks.clock()
    // After a failure, wait out the cooldown (at most a second while there is no document at all).
    const cooldown = this.document === undefined ? Math.min(this.rules.cooldownMs, 1000) : this.rules.cooldownMs
    if (this.attemptedAt > this.fetchedAt && now - this.attemptedAt < cooldown) return Promise.resolve()
    this.attemptedAt = now
    return this.fetcher.start()
  }
}
