/**
 * Revocation before expiry: every verified token (workload and actor, on every request, cached
 * verifications included) is checked against a revocation list the service polls and/or a hook the
 * service supplies, by `jti`, `sid`, `sub` and issuer. Both fail closed (`revocation_unavailable`).
 */
import { ConfigError, IdentityError, UnavailableError, type TokenKind } from '../../errors.js'
import { isPromise, type MaybePromise } from '../../internal/maybe-async.js'
import { bareRecord } from '../../internal/own.js'
import { Lru } from '../lru.js'
import { RemoteDocument, trustedFetchUrl } from '../trust/remote-document.js'
import type { KeyStoreContext } from '../trust/types.js'

/** What a revocation hook is asked about one verified token. */
export interface RevocationQuery {
  /** Which of the request's tokens. */
  readonly kind: TokenKind
  readonly iss: string | undefined
  readonly sub: string | undefined
  /** The session id (`sid`), when the token has one. */
  readonly sid: string | undefined
  readonly jti: string | undefined
  /** `iat`, seconds, when present. */
  readonly iat: number | undefined
}

/**
 * One entry of a revocation list. It revokes the tokens whose claims equal every field it gives
 * (at least one of `iss`, `sub`, `sid`, `jti`); with `issuedBefore` (seconds), only those issued
 * (`iat`) before that time, or without `iat`.
 */
export interface RevocationEntry {
  iss?: string | undefined
  sub?: string | undefined
  sid?: string | undefined
  jti?: string | undefined
  issuedBefore?: number | undefined
}

/** A revocation list the service polls: `GET <url>` answering `{ "revoked": [RevocationEntry, …] }`. */
export interface RevocationListOptions {
  /** `https:` (plain `http:` on loopback only). */
  url: string
  /** The list is refreshed in the background once older than this. @defaultValue 30000 */
  refreshMs?: number | undefined
  /**
   * The bound: a list older than this answers nothing (every token is refused with
   * `revocation_unavailable` until a refresh succeeds), so an entry published on the list stops its
   * tokens at every hop within `maxAgeMs`. @defaultValue 120000
   */
  maxAgeMs?: number | undefined
  /** Abort a fetch after this long. @defaultValue 5000 */
  timeoutMs?: number | undefined
  /** Extra request headers (e.g. an API key). */
  headers?: Record<string, string> | undefined
  /** The fetch implementation. @defaultValue `globalThis.fetch` */
  fetch?: typeof fetch | undefined
}

/** Options of revocation checks (`identity.revocation`). */
export interface RevocationOptions {
  /** A list the service polls. */
  list?: RevocationListOptions | undefined
  /**
   * Asked about each verified token (true: revoked). Its answers are cached for `cacheTtlMs`, which
   * bounds how long a revocation it reports takes to reach a cached answer. A hook that throws or
   * rejects fails the request closed (503 `revocation_unavailable`).
   */
  check?: ((token: RevocationQuery) => boolean | Promise<boolean>) | undefined
  /** How long a hook answer is reused. @defaultValue 10000 */
  cacheTtlMs?: number | undefined
  /** Hook answers kept. @defaultValue 10000 */
  cacheSize?: number | undefined
}

/** The largest revocation list accepted. */
const MAX_LIST_BYTES = 1024 * 1024

/** A revocation list, indexed by the field each entry is found under. */
export interface RevocationIndex {
  readonly byJti: ReadonlyMap<string, readonly RevocationEntry[]>
  readonly bySid: ReadonlyMap<string, readonly RevocationEntry[]>
  readonly bySub: ReadonlyMap<string, readonly RevocationEntry[]>
  /** Entries naming only an issuer. */
  readonly issuerWide: readonly RevocationEntry[]
  readonly size: number
}

const ENTRY_FIELDS = new Set(['iss', 'sub', 'sid', 'jti', 'issuedBefore'])

/** Validates a revocation list document; throws (a failed fetch) on anything it does not understand. */
export function parseRevocationList(json: unknown): RevocationIndex {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new Error('list is not a JSON object')
  const revoked = Object.prototype.hasOwnProperty.call(json, 'revoked') ? (json as { revoked: unknown }).revoked : undefined
  if (!Array.isArray(revoked)) throw new Error('list has no "revoked" array')
  const byJti = new Map<string, RevocationEntry[]>()
  const bySid = new Map<string, RevocationEntry[]>()
  const bySub = new Map<string, RevocationEntry[]>()
  const issuerWide: RevocationEntry[] = []
  const add = (map: Map<string, RevocationEntry[]>, key: string, entry: RevocationEntry): void => {
    const list = map.get(key)
    if (list === undefined) map.set(key, [entry])
    else list.push(entry)
  }
  revoked.forEach((raw: unknown, i) => {
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new Error(`entry ${i} is not an object`)
    const entry = bareRecord() as RevocationEntry & Record<string, unknown>
    for (const [name, value] of Object.entries(raw)) {
      if (!ENTRY_FIELDS.has(name)) throw new Error(`entry ${i} has an unknown member "${name}"`)
      const ok = name === 'issuedBefore' ? typeof value === 'number' && Number.isFinite(value) : typeof value === 'string' && value !== ''
      if (!ok) throw new Error(`entry ${i}: "${name}" has the wrong type`)
      entry[name] = value
    }
    if (entry.jti !== undefined) add(byJti, entry.jti, entry)
    else if (entry.sid !== undefined) add(bySid, entry.sid, entry)
    else if (entry.sub !== undefined) add(bySub, entry.sub, entry)
    else if (entry.iss !== undefined) issuerWide.push(entry)
    else throw new Error(`entry ${i} names no iss, sub, sid or jti`)
  })
  return Object.freeze({ byJti, bySid, bySub, issuerWide, size: revoked.length })
}

function matches(entry: RevocationEntry, token: RevocationQuery): boolean {
  return (
    (entry.iss === undefined || entry.iss === token.iss) &&
    (entry.sub === undefined || entry.sub === token.sub) &&
    (entry.sid === undefined || entry.sid === token.sid) &&
    (entry.jti === undefined || entry.jti === token.jti) &&
    (entry.issuedBefore === undefined || token.iat === undefined || token.iat < entry.issuedBefore)
  )
}

/** Whether an entry of the list revokes the token. */
export function listRevokes(index: RevocationIndex, token: RevocationQuery): boolean {
  const some = (entries: readonly RevocationEntry[] | undefined): boolean => entries !== undefined && entries.some((e) => matches(e, token))
  return (
    (token.jti !== undefined && some(index.byJti.get(token.jti))) ||
    (token.sid !== undefined && some(index.bySid.get(token.sid))) ||
    (token.sub !== undefined && some(index.bySub.get(token.sub))) ||
    some(index.issuerWide)
  )
}

const stringClaim = (claims: Readonly<Record<string, unknown>>, name: string): string | undefined => {
  const value = claims[name]
  return typeof value === 'string' ? value : undefined
}

/** The query for one verified token's claims. */
export function revocationQuery(kind: TokenKind, claims: Readonly<Record<string, unknown>>): RevocationQuery {
  const iat = claims['iat']
  return {
    kind,
    iss: stringClaim(claims, 'iss'),
    sub: stringClaim(claims, 'sub'),
    sid: stringClaim(claims, 'sid'),
    jti: stringClaim(claims, 'jti'),
    iat: typeof iat === 'number' ? iat : undefined,
  }
}

function milliseconds(value: number | undefined, fallback: number, option: string, min = 1): number {
  if (value === undefined) return fallback
  if (!Number.isFinite(value) || value < min) throw new ConfigError(option, `must be a number of milliseconds ≥ ${min}`)
  return value
}

interface HookAnswer {
  readonly revoked: boolean
  readonly at: number
}

/** The per-verifier revocation check. */
export class RevocationGuard {
  /** Tokens refused as revoked. */
  revokedRefused = 0
  private readonly list: RemoteDocument<RevocationIndex> | undefined
  private readonly hook: RevocationOptions['check']
  private readonly cacheTtlMs: number
  private readonly answers: Lru<string, HookAnswer>
  private readonly asking = new Map<string, Promise<boolean>>()
  /**
   * Frozen claims found unrevoked by a list, with that list: a cached verification hands the same
   * claims object to every request, and the answer is a function of the claims and the list alone.
   */
  private readonly clearUnder = new WeakMap<object, RevocationIndex>()
  /** Hook answers by frozen claims object (the same answer as by their JSON key, without building it). */
  private readonly answersByClaims = new WeakMap<object, HookAnswer & { readonly kind: TokenKind }>()

  constructor(
    options: RevocationOptions,
    private readonly context: KeyStoreContext,
  ) {
    if (typeof options !== 'object' || (options as unknown) === null) throw new ConfigError('identity.revocation', 'must be an object')
    if (options.list === undefined && options.check === undefined) throw new ConfigError('identity.revocation', 'needs a list, a check, or both')
    if (options.check !== undefined && typeof options.check !== 'function') throw new ConfigError('identity.revocation.check', 'must be a function')
    this.hook = options.check
    this.cacheTtlMs = milliseconds(options.cacheTtlMs, 10_000, 'identity.revocation.cacheTtlMs', 0)
    const cacheSize = options.cacheSize ?? 10_000
    if (!Number.isInteger(cacheSize) || cacheSize < 0) throw new ConfigError('identity.revocation.cacheSize', 'must be an integer ≥ 0')
    this.answers = new Lru(cacheSize)
    this.list = options.list === undefined ? undefined : this.listDocument(options.list)
  }

  private listDocument(options: RevocationListOptions): RemoteDocument<RevocationIndex> {
    if (typeof options !== 'object' || (options as unknown) === null) throw new ConfigError('identity.revocation.list', 'must be an object')
    const url = trustedFetchUrl(options.url, 'identity.revocation.list.url')
    const refreshMs = milliseconds(options.refreshMs, 30_000, 'identity.revocation.list.refreshMs')
    const maxAgeMs = milliseconds(options.maxAgeMs, 120_000, 'identity.revocation.list.maxAgeMs')
    if (maxAgeMs < refreshMs) throw new ConfigError('identity.revocation.list.maxAgeMs', 'must be at least refreshMs')
    const timeoutMs = milliseconds(options.timeoutMs, 5000, 'identity.revocation.list.timeoutMs')
    const source = url.origin + url.pathname
    return new RemoteDocument(
      { url, headers: { accept: 'application/json', ...options.headers }, fetch: options.fetch ?? globalThis.fetch, maxBytes: MAX_LIST_BYTES },
      { timeoutMs, cooldownMs: Math.min(refreshMs, 5000), cacheMaxAgeMs: refreshMs, staleIfErrorMs: maxAgeMs - refreshMs },
      parseRevocationList,
      {
        clock: this.context.clock,
        fetched: (durationMs) => this.context.emit({ type: 'revocation_list_fetched', source, durationMs }),
        failed: (error) => this.context.emit({ type: 'revocation_list_fetch_failed', source, error }),
      },
    )
  }

  /**
   * Throws `token_revoked` when the list or the hook revokes the token.
   * @throws IdentityError `token_revoked`; UnavailableError `revocation_unavailable`
   */
  check(kind: TokenKind, claims: Readonly<Record<string, unknown>>): MaybePromise<void> {
    const list = this.list?.current()
    if (list === undefined || !isPromise(list)) return this.afterList(kind, claims, list)
    return list.then((index) => this.afterList(kind, claims, index))
  }

  private afterList(kind: TokenKind, claims: Readonly<Record<string, unknown>>, index: RevocationIndex | undefined): MaybePromise<void> {
    if (this.list !== undefined) {
      if (index === undefined) throw new UnavailableError('revocation_unavailable', 'the revocation list cannot be fetched and is past its maximum age')
      if (this.clearUnder.get(claims) !== index) {
        if (listRevokes(index, revocationQuery(kind, claims))) this.refuse(kind)
        if (Object.isFrozen(claims)) this.clearUnder.set(claims, index)
      }
    }
    if (this.hook === undefined) return undefined
    const known = this.answersByClaims.get(claims)
    if (known !== undefined && known.kind === kind && this.context.clock() - known.at < this.cacheTtlMs) {
      if (known.revoked) this.refuse(kind)
      return undefined
    }
    const query = revocationQuery(kind, claims)
    const remember = (revoked: boolean): void => {
      if (Object.isFrozen(claims)) this.answersByClaims.set(claims, { kind, revoked, at: this.answerTime(query) })
      if (revoked) this.refuse(kind)
    }
    const answer = this.askHook(query)
    return isPromise(answer) ? answer.then(remember) : remember(answer)
  }

  /** When the hook's answer for this query was given (the cached one's time, so the bound holds). */
  private answerTime(query: RevocationQuery): number {
    return this.answers.get(this.keyOf(query))?.at ?? this.context.clock()
  }

  private keyOf(query: RevocationQuery): string {
    return JSON.stringify([query.kind, query.iss ?? null, query.sub ?? null, query.sid ?? null, query.jti ?? null, query.iat ?? null])
  }

  private refuse(kind: TokenKind): never {
    this.revokedRefused++
    throw new IdentityError('token_revoked', `the ${kind} token has been revoked`)
  }

  /** The hook's answer: cached while younger than `cacheTtlMs`, one question per token at a time. */
  private askHook(query: RevocationQuery): MaybePromise<boolean> {
    const key = this.keyOf(query)
    const now = this.context.clock()
    const known = this.answers.get(key)
    if (known !== undefined && now - known.at < this.cacheTtlMs) return known.revoked
    const running = this.asking.get(key)
    if (running !== undefined) return running
    const hook = this.hook as NonNullable<RevocationOptions['check']>
    let answer: boolean | Promise<boolean>
    try {
      answer = hook(query)
    } catch (err) {
      throw this.unavailable(err)
    }
    if (!isPromise(answer)) return this.remember(key, answer, now)
    const asked = answer.then(
      (revoked) => this.remember(key, revoked, now),
      (err: unknown) => {
        throw this.unavailable(err)
      },
    )
    this.asking.set(key, asked)
    const forget = (): void => {
      this.asking.delete(key)
    }
    asked.then(forget, forget)
    return asked
  }

  private remember(key: string, revoked: unknown, askedAt: number): boolean {
    if (typeof revoked !== 'boolean') throw this.unavailable(new TypeError('the revocation check must answer true or false'))
    this.answers.set(key, { revoked, at: askedAt })
    return revoked
  }

  private unavailable(cause: unknown): UnavailableError {
    return new UnavailableError('revocation_unavailable', 'the revocation check failed', { cause })
  }
}
