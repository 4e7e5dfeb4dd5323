/**
 * One-time use of workload tokens at a callee: each token's `jti` is accepted once, then refused
 * until the token has expired (`token_replayed`). Used ids live in a {@link ReplayStore}: a bounded
 * in-memory one by default, or a shared one (Redis) when several replicas serve the same callee.
 */
import { createHash } from 'node:crypto'
import { ConfigError, IdentityError, UnavailableError } from '../../errors.js'
import type { MaybePromise } from '../../internal/maybe-async.js'

/**
 * Where the ids of used tokens are kept. `consume` records a key and says whether it was new; a
 * store that cannot answer throws or rejects (the verifier then fails closed unless told otherwise).
 */
export interface ReplayStore {
  /**
   * Records `key` until `expiresAtMs` (epoch ms) if it is not recorded yet. Keys are unambiguous
   * strings (callee, issuer and `jti`), bounded by the token size limit; a store that needs
   * fixed-length keys hashes them itself, as {@link redisReplayStore} does.
   * @returns true when the key was new (first use), false when it was already recorded
   */
  consume(key: string, expiresAtMs: number, nowMs: number): MaybePromise<boolean>
}

/** Options of one-time-use workload tokens (`identity.replay`). */
export interface ReplayOptions {
  /**
   * Where used token ids are kept. Share one store (e.g. {@link redisReplayStore}) between the
   * replicas of a callee, or a token refused by one replica is accepted by the next.
   * @defaultValue a bounded in-memory store ({@link createMemoryReplayStore}) of `maxEntries`
   */
  store?: ReplayStore | undefined
  /** Used ids the default in-memory store holds; when it is full of live ids, new tokens are refused. @defaultValue 100000 */
  maxEntries?: number | undefined
  /**
   * When the store fails (down, timed out, full): `reject` answers 503 `replay_store_unavailable`;
   * `accept` lets the token through unrecorded (replay protection is then off while the store fails).
   * @defaultValue `'reject'`
   */
  onStoreError?: 'reject' | 'accept' | undefined
}

/** Thrown by the in-memory store when every slot holds an id that has not expired. */
class ReplayStoreFull extends Error {
  constructor() {
    super('replay store is full of live token ids')
    this.name = 'ReplayStoreFull'
  }
}

/**
 * A bounded in-memory {@link ReplayStore} (one process). An id is kept until its token expires;
 * expired ids are dropped as new ones come. When all `maxEntries` ids are live, `consume` throws
 * rather than forget one (forgetting would let that token be replayed).
 */
export function createMemoryReplayStore(options: { maxEntries?: number | undefined } = {}): ReplayStore {
  const maxEntries = options.maxEntries ?? 100_000
  if (!Number.isInteger(maxEntries) || maxEntries < 1) throw new ConfigError('identity.replay.maxEntries', 'must be an integer ≥ 1')
  // Insertion order is close to expiry order (tokens of similar lifetimes), so the oldest go first.
  const used = new Map<string, number>()
  // Until then the oldest entry is live and there is nothing to sweep: no walk on most calls.
  let nothingExpiresBefore = Number.POSITIVE_INFINITY
  const sweep = (nowMs: number, all: boolean): void => {
    nothingExpiresBefore = Number.POSITIVE_INFINITY
    for (const [key, expiresAt] of used) {
      if (expiresAt > nowMs) {
        nothingExpiresBefore = Math.min(nothingExpiresBefore, expiresAt)
        if (!all) return
        continue
      }
      used.delete(key)
    }
  }
  return {
    consume(key, expiresAtMs, nowMs) {
      const known = used.get(key)
      if (known !== undefined && known > nowMs) return false
      if (nowMs >= nothingExpiresBefore) sweep(nowMs, false)
      // Full: one pass over every entry for expired ids out of order, before refusing.
      if (used.size >= maxEntries) sweep(nowMs, true)
      if (used.size >= maxEntries) throw new ReplayStoreFull()
      used.set(key, expiresAtMs)
      if (used.size === 1) nothingExpiresBefore = expiresAtMs
      return true
    },
  }
}

/** The part of a Redis client {@link redisReplayStore} needs: node-redis's `sendCommand` (ioredis: `call`). */
export interface RedisCommandClient {
  sendCommand(args: string[]): Promise<unknown>
}

/** Options of {@link redisReplayStore}. */
export interface RedisReplayStoreOptions {
  /** Put before every key. @defaultValue `'meshguard:jti:'` */
  prefix?: string | undefined
  /** A command that has not answered by then counts as a store failure. @defaultValue 250 */
  timeoutMs?: number | undefined
}

/**
 * A {@link ReplayStore} in Redis, shared by every replica of a callee: one `SET key 1 PX <ttl> NX`
 * per token (atomic: of two replicas seeing the same token at once, exactly one gets `OK`), the key
 * being the prefix and the SHA-256 of the store key (fixed length whatever the token holds). Keys
 * expire with their tokens, so Redis holds only live ids.
 *
 * @example
 * ```ts
 * import { createClient } from 'redis'
 * const redis = await createClient({ url: 'redis://127.0.0.1:6379', disableOfflineQueue: true }).connect()
 * const replay = { store: redisReplayStore(redis) }
 * ```
 */
export function redisReplayStore(client: RedisCommandClient, options: RedisReplayStoreOptions = {}): ReplayStore {
  if (typeof client !== 'object' || (client as unknown) === null || typeof client.sendCommand !== 'function') {
    throw new ConfigError('identity.replay.store', 'needs a Redis client with sendCommand(args)')
  }
  const prefix = options.prefix ?? 'meshguard:jti:'
  if (typeof prefix !== 'string') throw new ConfigError('identity.replay.store.prefix', 'must be a string')
  const timeoutMs = options.timeoutMs ?? 250
  if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) throw new ConfigError('identity.replay.store.timeoutMs', 'must be a positive number of milliseconds')
  return {
    consume(key, expiresAtMs, nowMs) {
      const ttl = String(Math.max(1, Math.ceil(expiresAtMs - nowMs)))
      let timer: ReturnType<typeof setTimeout> | undefined
      const deadline = new Promise<never>((_resolve, reject) => {
        timer = setTimeout(() => reject(new Error(`Redis did not answer within ${timeoutMs} ms`)), timeoutMs)
        // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- a stubbed timer may lack unref
        timer.unref?.()
      })
      const reply = client.sendCommand(['SET', prefix + createHash('sha256').update(key).digest('base64url'), '1', 'PX', ttl, 'NX'])
      return Promise.race([reply, deadline])
        .then((answer) => {
          if (answer === 'OK') return true
          if (answer === null) return false
          throw new Error('unexpected Redis reply to SET NX')
        })
        .finally(() => clearTimeout(timer))
    },
  }
}

/** What a verified workload token offers the replay check. */
export interface ReplayCandidate {
  readonly claims: Readonly<Record<string, unknown>>
  /** `exp`, seconds. */
  readonly exp: number
}

/** The statistics a replay guard keeps. */
export interface ReplayCounters {
  /** Tokens refused as replays. */
  replaysRefused: number
  /** Store failures (refused or let through by `onStoreError`). */
  replayStoreErrors: number
}

/** The per-verifier one-time-use check, after every other check passed. */
export class ReplayGuard {
  readonly counters: ReplayCounters = { replaysRefused: 0, replayStoreErrors: 0 }
  private readonly store: ReplayStore
  private readonly failOpen: boolean
  /** Binds keys to this callee, so one store can serve several: fixed length, worked out once. */
  private readonly callee: string

  constructor(
    options: ReplayOptions,
    audiences: ReadonlySet<string>,
    private readonly toleranceMs: number,
  ) {
    if (typeof options !== 'object' || (options as unknown) === null) throw new ConfigError('identity.replay', 'must be an object')
    const onStoreError = options.onStoreError ?? 'reject'
    if (onStoreError !== 'reject' && (onStoreError as string) !== 'accept') throw new ConfigError('identity.replay.onStoreError', 'must be "reject" or "accept"')
    if (options.store !== undefined && (typeof options.store !== 'object' || (options.store as unknown) === null || typeof options.store.consume !== 'function')) {
      throw new ConfigError('identity.replay.store', 'must have consume(key, expiresAtMs, nowMs)')
    }
    if (options.store !== undefined && options.maxEntries !== undefined) {
      throw new ConfigError('identity.replay.maxEntries', 'sizes the default store only: size your own store itself')
    }
    this.store = options.store ?? createMemoryReplayStore({ maxEntries: options.maxEntries })
    this.failOpen = onStoreError === 'accept'
    this.callee = createHash('sha256').update(JSON.stringify([...audiences].sort())).digest('base64url')
  }

  /**
   * Records the token's `jti`; throws `token_replayed` when it was used before here.
   * @throws IdentityError `claim_missing`, `claim_invalid`, `token_replayed`; UnavailableError `replay_store_unavailable`
   */
  check(token: ReplayCandidate, nowMs: number): MaybePromise<void> {
    const { jti, iss } = token.claims
    if (jti === undefined) throw new IdentityError('claim_missing', 'token has no "jti": this service accepts each token once')
    if (typeof jti !== 'string' || jti.length === 0 || jti.length > 256) throw new IdentityError('claim_invalid', 'token "jti" is not a usable string')
    // Unambiguous without hashing on every request: the callee part has a fixed length, the
    // issuer's length is spelled out, and the rest is the jti (at most 256 characters).
    const issuer = typeof iss === 'string' ? `${iss.length}:${iss}` : '-'
    const key = `${this.callee}${issuer}|${jti}`
    // Kept as long as the token could still be accepted.
    const expiresAtMs = token.exp * 1000 + this.toleranceMs
    let answer: MaybePromise<boolean>
    try {
      answer = this.store.consume(key, expiresAtMs, nowMs)
    } catch (err) {
      return this.storeFailed(err)
    }
    if (answer instanceof Promise) return answer.then((fresh) => this.verdict(fresh), (err: unknown) => this.storeFailed(err))
    return this.verdict(answer)
  }

  private verdict(fresh: boolean): void {
    if (fresh) return
    this.counters.replaysRefused++
    throw new IdentityError('token_replayed', 'this token was already used at this service')
  }

  private storeFailed(err: unknown): void {
    this.counters.replayStoreErrors++
    if (this.failOpen) return
    throw new UnavailableError('replay_store_unavailable', 'the store of used token ids cannot answer', { cause: err })
  }
}
