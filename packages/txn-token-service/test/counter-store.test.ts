/**
 * The counter stores behind the replacement cap: the bounded in-memory default, and the Redis one
 * against a real redis-server on loopback (scripts/redis-server.mjs installs and starts it; a
 * machine that cannot fails this file, it never skips).
 */
import { createHash } from 'node:crypto'
import { createClient } from 'redis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createMemoryCounterStore, redisCounterStore, type CounterStore } from '../src/index.js'
import { startRedisServer } from '../../../scripts/redis-server.mjs'

describe('createMemoryCounterStore', () => {
  it('counts per key from 1, and starts again once a count has expired', () => {
    const store = createMemoryCounterStore()
    expect([store.increment('a', 2000, 1000), store.increment('a', 2000, 1000), store.increment('b', 2000, 1000)]).toEqual([1, 2, 1])
    expect(store.increment('a', 5000, 2001)).toBe(1)
  })

  it('keeps a count until the latest time it was asked to, never shorter', () => {
    const store = createMemoryCounterStore()
    expect(store.increment('a', 5000, 1000)).toBe(1)
    // A shorter keep-until does not cut the count short.
    expect(store.increment('a', 2000, 1000)).toBe(2)
    expect(store.increment('a', 2000, 4000)).toBe(3)
    expect(store.increment('a', 9000, 5001)).toBe(1)
  })

  it('refuses a new key when full of live counts, and takes one again once a count expired', () => {
    const store = createMemoryCounterStore({ maxEntries: 2 })
    expect(store.increment('a', 2000, 1000)).toBe(1)
    expect(store.increment('b', 3000, 1000)).toBe(1)
    expect(() => store.increment('c', 3000, 1000)).toThrow('full')
    // Known keys still count while full.
    expect(store.increment('a', 2000, 1500)).toBe(2)
    expect(store.increment('c', 3000, 2001)).toBe(1)
  })

  it('refuses a size that is not a positive integer', () => {
    for (const maxEntries of [0, 1.5, Number.NaN]) expect(() => createMemoryCounterStore({ maxEntries })).toThrow('maxEntries')
  })
})

/** The Redis key of store key `key` under the tests' prefix. */
const redisKey = (key: string): string => `test:${createHash('sha256').update(key).digest('base64url')}`

describe('redisCounterStore', () => {
  let redisServer: Awaited<ReturnType<typeof startRedisServer>>
  let redis: Awaited<ReturnType<typeof connect>>
  let store: CounterStore

  function connect(url: string) {
    return createClient({ url, disableOfflineQueue: true }).on('error', () => undefined).connect()
  }

  beforeAll(async () => {
    redisServer = await startRedisServer()
    redis = await connect(redisServer.url)
    // A timeout no answer of a working Redis reaches, however loaded this machine is.
    store = redisCounterStore(redis, { prefix: 'test:', timeoutMs: 10_000 })
  }, 600_000)
  afterAll(async () => {
    if (redis.isOpen) redis.destroy()
    await redisServer.stop()
  })

  it('counts atomically: of 50 increments at once, each gets its own count', async () => {
    const now = Date.now()
    // CounterStore's increment may answer synchronously: each one is made a promise for Promise.all (all 50 are still sent at once).
    const counts = await Promise.all(Array.from({ length: 50 }, async () => store.increment('together', now + 60_000, now)))
    expect([...counts].sort((a, b) => a - b)).toEqual(Array.from({ length: 50 }, (_, i) => i + 1))
    expect(await redis.get(redisKey('together'))).toBe('50')
  })

  it('keeps the key until the latest time asked, never shorter', async () => {
    const now = Date.now()
    await store.increment('kept', now + 60_000, now)
    await store.increment('kept', now + 5_000, now)
    expect(await redis.pTTL(redisKey('kept'))).toBeGreaterThan(50_000)
    await store.increment('kept', now + 120_000, now)
    expect(await redis.pTTL(redisKey('kept'))).toBeGreaterThan(110_000)
  })

  it('starts again at 1 once the key expired', async () => {
    const now = Date.now()
    expect(await store.increment('short', now + 30, now)).toBe(1)
    await new Promise((resolve) => setTimeout(resolve, 60))
    expect(await store.increment('short', Date.now() + 60_000, Date.now())).toBe(1)
  })

  it('fails when Redis answers something other than a count', async () => {
    await redis.set(redisKey('text'), 'not a number')
    const now = Date.now()
    await expect(store.increment('text', now + 60_000, now)).rejects.toThrow()
  })

  it('fails when Redis does not answer in time', async () => {
    const silent = redisCounterStore({ sendCommand: () => new Promise(() => undefined) }, { timeoutMs: 20 })
    await expect(silent.increment('k', Date.now() + 1000, Date.now())).rejects.toThrow('did not answer within 20 ms')
  })

  it('fails while Redis is down, and refuses a client without sendCommand', async () => {
    expect(() => redisCounterStore({} as never)).toThrow('sendCommand')
    await redisServer.stop()
    const now = Date.now()
    await expect(store.increment('down', now + 60_000, now)).rejects.toThrow()
  })
})
