/**
 * Counters that expire: how many times each transaction was replaced. A bounded in-memory store
 * (one process) by default, or one in Redis that every replica of the service shares, so the
 * replacement cap holds for the deployment and not once per replica.
 */
import { createHash } from 'node:crypto'
import { ConfigError } from '@meshguard/core'
import type { RedisCommandClient } from '@meshguard/core/node'
import { ExpiringCounter } from '../expiring-set.js'
import { withDeadline } from './deadline.js'

/**
 * Where expiring counts are kept. `increment` must be atomic: of two replicas counting the same key
 * at once, each sees its own count. A store that cannot answer throws or rejects, and the service
 * then refuses the request (503): nothing is issued uncounted.
 */
export interface CounterStore {
  /**
   * Adds one to `key` and keeps it at least until `untilMs` (epoch ms; a later time already set stays).
   * @returns the count after this increment (1 for a new or expired key)
   */
  increment(key: string, untilMs: number, nowMs: number): number | Promise<number>
}

/** Thrown by the in-memory store when every slot holds a live count. */
export class CounterStoreFull extends Error {
  constructor() {
    super('counter store is full of live counts')
    this.name = 'CounterStoreFull'
  }
}

/**
 * A bounded in-memory {@link CounterStore} (one process). When all `maxEntries` counts are live,
 * `increment` throws rather than forget one (a forgotten count would restart at 1).
 */
export function createMemoryCounterStore(options: { maxEntries?: number | undefined } = {}): CounterStore {
  const maxEntries = options.maxEntries ?? 100_000
  if (!Number.isInteger(maxEntries) || maxEntries < 1) throw new ConfigError('sharedState.counters.maxEntries', 'must be an integer ≥ 1')
  const counts = new ExpiringCounter(maxEntries)
  return {
    increment(key, untilMs, nowMs) {
      const count = counts.increment(key, untilMs, nowMs)
      if (count === undefined) throw new CounterStoreFull()
      return count
    },
  }
}

/** Options of {@link redisCounterStore}. */
export interface RedisCounterStoreOptions {
  /** Put before every key. @defaultValue `'meshguard:tts:'` */
  prefix?: string | undefined
  /** A command that has not answered by then counts as a store failure. @defaultValue 250 */
  timeoutMs?: number | undefined
}

/**
 * INCR, then make the key live at least `ARGV[1]` ms more (PTTL is -1 on a new key, -2 never here):
 * one script, so Redis runs it whole and no other replica's command falls in between.
 */
const INCREMENT_SCRIPT = `local count = redis.call('INCR', KEYS[1])
local ttl = tonumber(ARGV[1])
if redis.call('PTTL', KEYS[1]) < ttl then redis.call('PEXPIRE', KEYS[1], ttl) end
return count`

/**
 * A {@link CounterStore} in Redis, shared by every replica: one `EVAL` per increment (INCR and a
 * PEXPIRE that only ever extends), atomic across replicas. The Redis key is the prefix and the
 * SHA-256 of the store key (fixed length whatever it holds); keys expire with what they count.
 *
 * @example
 * ```ts
 * import { createClient } from 'redis'
 * const redis = await createClient({ url: 'redis://127.0.0.1:6379', disableOfflineQueue: true }).connect()
 * const counters = redisCounterStore(redis, { prefix: 'meshguard:tts:' })
 * ```
 */
export function redisCounterStore(client: RedisCommandClient, options: RedisCounterStoreOptions = {}): CounterStore {
  if (typeof client !== 'object' || (client as unknown) === null || typeof client.sendCommand !== 'function') {
    throw new ConfigError('sharedState.counters', 'needs a Redis client with sendCommand(args)')
  }
  const prefix = options.prefix ?? 'meshguard:tts:'
  if (typeof prefix !== 'string') throw new ConfigError('sharedState.counters.prefix', 'must be a string')
  const timeoutMs = options.timeoutMs ?? 250
  if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) throw new ConfigError('sharedState.counters.timeoutMs', 'must be a positive number of milliseconds')
  return {
    async increment(key, untilMs, nowMs) {
      const ttl = String(Math.max(1, Math.ceil(untilMs - nowMs)))
      const redisKey = prefix + createHash('sha256').update(key).digest('base64url')
      const answer = await withDeadline(client.sendCommand(['EVAL', INCREMENT_SCRIPT, '1', redisKey, ttl]), timeoutMs)
      if (typeof answer !== 'number' || !Number.isSafeInteger(answer) || answer < 1) throw new Error('unexpected Redis reply to the counter script')
      return answer
    },
  }
}
