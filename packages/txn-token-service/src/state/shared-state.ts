/**
 * The state replicas of one service must agree on: which single-use credentials were used (client
 * assertion and WIT proof `jti`s) and how often each transaction was replaced. Kept per process by
 * default; with the `sharedState` option in stores every replica shares (Redis), so a credential used
 * at one replica is refused at the next and the replacement cap holds for the whole deployment.
 */
import { ConfigError, type IdentityVerifierOptions } from '@meshguard/core'
import { redisReplayStore, type RedisCommandClient } from '@meshguard/core/node'
import { refuse } from '../errors.js'
import { ExpiringCounter } from '../expiring-set.js'
import { createMemoryCounterStore, redisCounterStore, type CounterStore } from './counter-store.js'

/** The `replay` option of core's identity verifier. */
type VerifierReplayOptions = NonNullable<IdentityVerifierOptions['replay']>

/**
 * Core's store of used ids (`identity.replay.store`): `consume(key, expiresAtMs, nowMs)` records a key
 * and answers true when it was new. `redisReplayStore` from `@meshguard/core/node` is one.
 */
export type ReplayStore = NonNullable<VerifierReplayOptions['store']>

/** State the replicas of one service share (the `sharedState` option); both stores are required. */
export interface TxnTokenSharedState {
  /** Used single-use ids: client-assertion `jti`s (token endpoint, WIT attestations) and WIT proof `jti`s. */
  replay: ReplayStore
  /** Replacements per transaction. */
  counters: CounterStore
}

/** Options of {@link redisSharedState}. */
export interface RedisSharedStateOptions {
  /** Put before every key, so one Redis can hold other data too. @defaultValue `'meshguard:tts:'` */
  prefix?: string | undefined
  /** A command that has not answered by then fails the request with 503. @defaultValue 250 */
  timeoutMs?: number | undefined
}

/**
 * Both stores of the `sharedState` option in one Redis (node-redis: any client with
 * `sendCommand(args)`). A Redis key is the prefix and the SHA-256 of what the service asks for,
 * which names its issuer and trust domain: several services can share one Redis and a prefix.
 *
 * @example
 * ```ts
 * import { createClient } from 'redis'
 * const redis = await createClient({ url: 'redis://127.0.0.1:6379', disableOfflineQueue: true }).connect()
 * const tts = createTxnTokenService({ ...options, sharedState: redisSharedState(redis) })
 * ```
 */
export function redisSharedState(client: RedisCommandClient, options: RedisSharedStateOptions = {}): TxnTokenSharedState {
  if (typeof client !== 'object' || (client as unknown) === null || typeof client.sendCommand !== 'function') {
    throw new ConfigError('sharedState', 'needs a Redis client with sendCommand(args)')
  }
  const prefix = options.prefix ?? 'meshguard:tts:'
  if (typeof prefix !== 'string' || prefix.length > 128) throw new ConfigError('sharedState.prefix', 'must be a string of at most 128 characters')
  const settings = { prefix, timeoutMs: options.timeoutMs }
  return { replay: redisReplayStore(client, settings), counters: redisCounterStore(client, settings) }
}

/** What a single-use id belongs to; each kind is its own namespace. */
export type SingleUseKind = 'client_assertion' | 'wit_attestation' | 'wit_proof'

/** Ids remembered per kind by the default in-memory stores; more fail closed until older ones expire. */
const MEMORY_CAPACITY = 100_000

/** A bounded in-memory {@link ReplayStore} (the default, one per kind): refuses rather than forgets. */
function memoryReplayStore(): ReplayStore {
  const seen = new ExpiringCounter(MEMORY_CAPACITY)
  return {
    consume(key, expiresAtMs, nowMs) {
      const count = seen.increment(key, expiresAtMs, nowMs)
      if (count === undefined) throw new Error('the replay set is full of live ids')
      return count === 1
    },
  }
}

/** The stores of one service and the keys it uses in them. Store failures become 503 refusals. */
export class ServiceState {
  private readonly replay: (kind: SingleUseKind) => ReplayStore
  private readonly counters: CounterStore
  /**
   * The `replay` option of core verifiers whose proofs are single-use here (WPTs at the token
   * endpoint): core's own bounded memory per verifier, or the shared store. Core binds its keys to the
   * verifier's audience (this service's token endpoint) and fails closed when the store cannot answer.
   */
  readonly verifierReplay: VerifierReplayOptions
  /** True with the `sharedState` option: keys then name this service too. */
  private readonly shared: boolean

  constructor(
    option: TxnTokenSharedState | undefined,
    private readonly service: { readonly issuer: string; readonly trustDomain: string },
  ) {
    if (option === undefined) {
      const perKind: Readonly<Record<SingleUseKind, ReplayStore>> = {
        client_assertion: memoryReplayStore(),
        wit_attestation: memoryReplayStore(),
        wit_proof: memoryReplayStore(),
      }
      this.replay = (kind) => perKind[kind]
      this.counters = createMemoryCounterStore({ maxEntries: MEMORY_CAPACITY })
      this.verifierReplay = {}
      this.shared = false
      return
    }
    if (typeof option !== 'object' || (option as unknown) === null) throw new ConfigError('sharedState', 'must be { replay, counters }')
    const { replay, counters } = option
    if (typeof replay !== 'object' || (replay as unknown) === null || typeof replay.consume !== 'function') {
      throw new ConfigError('sharedState.replay', 'must have consume(key, expiresAtMs, nowMs)')
    }
    if (typeof counters !== 'object' || (counters as unknown) === null || typeof counters.increment !== 'function') {
      throw new ConfigError('sharedState.counters', 'must have increment(key, untilMs, nowMs)')
    }
    this.replay = () => replay
    this.counters = counters
    this.verifierReplay = { store: replay }
    this.shared = true
  }

  /**
   * Records a single-use id until `untilMs`; true on its first use.
   * @throws TokenExchangeError `temporarily_unavailable` (503) when the store cannot answer or is full
   */
  async firstUse(kind: SingleUseKind, parts: readonly string[], untilMs: number, nowMs: number): Promise<boolean> {
    try {
      const fresh: unknown = await this.replay(kind).consume(this.key(kind, parts), untilMs, nowMs)
      // Only a clear answer counts: anything else is a store failure, never a first use.
      if (typeof fresh !== 'boolean') throw new Error('the replay store answered neither true nor false')
      return fresh
    } catch (err) {
      if (this.shared) throw refuse.unavailable('replay_store_unavailable', 'the store of used credentials cannot answer', err)
      throw refuse.unavailable('replay_cache_full', 'too many single-use credentials in flight', err)
    }
  }

  /**
   * Counts one more replacement of transaction `txn`, kept until `untilMs`; the count after it.
   * @throws TokenExchangeError `temporarily_unavailable` (503) when the store cannot answer or is full
   */
  async replaced(txn: string, untilMs: number, nowMs: number): Promise<number> {
    try {
      const count: unknown = await this.counters.increment(this.key('replacements', [txn]), untilMs, nowMs)
      if (typeof count !== 'number' || !Number.isSafeInteger(count) || count < 1) throw new Error('the counter store answered no count')
      return count
    } catch (err) {
      if (this.shared) throw refuse.unavailable('replacement_store_unavailable', 'the store of replacement counts cannot answer', err)
      throw refuse.unavailable('replacement_ledger_full', 'too many transactions are being replaced', err)
    }
  }

  /**
   * The store key of `parts`, spelled out. Private stores (one per kind): the parts, length-prefixed
   * so no two lists share a key. Shared stores: this service's issuer and trust domain, the kind and
   * the parts as JSON, so a key of one service never matches another's; the Redis stores hash keys
   * to a fixed length themselves.
   */
  private key(kind: SingleUseKind | 'replacements', parts: readonly string[]): string {
    if (!this.shared) return parts.map((part) => `${part.length}:${part}`).join('')
    const { issuer, trustDomain } = this.service
    return JSON.stringify([issuer, trustDomain, kind, ...parts])
  }
}
