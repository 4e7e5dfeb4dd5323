/**
 * The `sharedState` option and the `sharedState.redis` section of the configuration file: stores
 * that fail refuse with 503 (audited, nothing issued), half-configured state is refused at start-up,
 * and the file section connects to the configured Redis only (a real redis-server on loopback).
 */
import { generateKeyPairSync, randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ConfigError } from '@meshguard/core'
import { createMemoryCounterStore, createTxnTokenService, loadTxnTokenServiceConfig, TOKEN_TYPES, type ReplayStore, type TxnTokenSharedState } from '../src/index.js'
import { TRUST_DOMAIN } from '../../../test/support/identity.js'
import { startRedisServer } from '../../../scripts/redis-server.mjs'
import { POLICY_DIR, startTts, type TtsFixture } from './support/tts.js'

/** A replay store in one Map: what a shared store does, in this process. */
function mapReplayStore(): ReplayStore {
  const used = new Map<string, number>()
  return {
    consume(key, expiresAtMs, nowMs) {
      if ((used.get(key) ?? 0) > nowMs) return false
      used.set(key, expiresAtMs)
      return true
    },
  }
}

describe('sharedState stores that fail', () => {
  let tts: TtsFixture
  /** How each store misbehaves: not at all, failing, or answering something that is not an answer. */
  const failing: { replay: false | 'down' | 'nonsense'; counters: false | 'down' | 'nonsense' } = { replay: false, counters: false }
  const state: TxnTokenSharedState = {
    replay: {
      consume: (key, expiresAtMs, nowMs) => {
        if (failing.replay === 'down') return Promise.reject(new Error('replay store down'))
        if (failing.replay === 'nonsense') return Promise.resolve('OK' as unknown as boolean)
        return replay.consume(key, expiresAtMs, nowMs)
      },
    },
    counters: {
      increment: (key, untilMs, nowMs) => {
        if (failing.counters === 'down') throw new Error('counter store down')
        if (failing.counters === 'nonsense') return Number.NaN
        return counters.increment(key, untilMs, nowMs)
      },
    },
  }
  const replay = mapReplayStore()
  const counters = createMemoryCounterStore()
  beforeAll(async () => {
    tts = await startTts({ sharedState: state })
  })
  afterAll(() => tts.close())

  async function lastReason(): Promise<unknown> {
    await tts.audit.flush()
    return tts.records.at(-1)?.reason
  }

  it('refuses with 503 when the replay store fails or answers nonsense, and issues nothing', async () => {
    for (const how of ['down', 'nonsense'] as const) {
      failing.replay = how
      try {
        const { status, body } = await tts.post(await tts.form('gateway', await tts.userToken('alice')))
        expect([status, body['error'], body['access_token']], how).toEqual([503, 'temporarily_unavailable', undefined])
        expect(await lastReason()).toBe('replay_store_unavailable')
      } finally {
        failing.replay = false
      }
    }
  })

  it('refuses a replacement with 503 when the counter store fails or answers no count', async () => {
    const { body } = await tts.post(await tts.form('gateway', await tts.userToken('alice')))
    const original = String(body['access_token'])
    for (const how of ['down', 'nonsense'] as const) {
      failing.counters = how
      try {
        const answer = await tts.post(await tts.form('employee-service', original, { subject_token_type: TOKEN_TYPES.txnToken, scope: 'review.read' }))
        expect([answer.status, answer.body['error'], answer.body['access_token']], how).toEqual([503, 'temporarily_unavailable', undefined])
        expect(await lastReason()).toBe('replacement_store_unavailable')
      } finally {
        failing.counters = false
      }
    }
    const later = await tts.post(await tts.form('employee-service', original, { subject_token_type: TOKEN_TYPES.txnToken, scope: 'review.read' }))
    expect(later.status).toBe(200)
  })
})

describe('the sharedState option', () => {
  const base = {
    issuer: 'http://127.0.0.1:8443',
    trustDomain: TRUST_DOMAIN,
    signingKeys: [{ key: generateKeyPairSync('ed25519').privateKey, kid: 'tts-1' }],
    trust: { workloads: [] },
    engine: { kind: 'embedded', checkResources: () => Promise.reject(new Error('unused')) } as never,
  }

  it('needs both stores, each with its method', () => {
    const replay = mapReplayStore()
    const counters = createMemoryCounterStore()
    const refusal = (sharedState: unknown): unknown => {
      try {
        createTxnTokenService({ ...base, sharedState: sharedState as TxnTokenSharedState })
        return undefined
      } catch (err) {
        return err instanceof ConfigError ? err.option : err
      }
    }
    expect(refusal({ replay })).toBe('sharedState.counters')
    expect(refusal({ counters })).toBe('sharedState.replay')
    expect(refusal({ replay: {}, counters })).toBe('sharedState.replay')
    expect(refusal('redis://127.0.0.1')).toBe('sharedState')
    expect(refusal({ replay, counters })).toBeUndefined()
  })
})

describe('the sharedState section of the configuration file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'meshguard-shared-'))
  let redisServer: Awaited<ReturnType<typeof startRedisServer>>
  writeFileSync(join(dir, 'tts-1.pem'), generateKeyPairSync('ed25519').privateKey.export({ format: 'pem', type: 'pkcs8' }).toString())
  const write = (sharedState: unknown): string => {
    const file = join(dir, `tts-${randomBytes(4).toString('hex')}.json`)
    writeFileSync(
      file,
      JSON.stringify({
        issuer: 'http://127.0.0.1:8443',
        trustDomain: TRUST_DOMAIN,
        signingKeys: [{ file: 'tts-1.pem', kid: 'tts-1' }],
        trust: { workloads: [] },
        policies: POLICY_DIR,
        audit: 'off',
        sharedState,
      }),
    )
    return file
  }
  const refusal = (sharedState: unknown): Promise<unknown> =>
    loadTxnTokenServiceConfig(write(sharedState)).then(
      (loaded) => {
        loaded.disconnect()
        return undefined
      },
      (err: unknown) => (err instanceof ConfigError ? err.message : err),
    )

  beforeAll(async () => {
    redisServer = await startRedisServer()
  }, 600_000)
  afterAll(async () => {
    await redisServer.stop()
    rmSync(dir, { recursive: true, force: true })
  })

  it('connects to the configured Redis and shares state through it', async () => {
    const loaded = await loadTxnTokenServiceConfig(write({ redis: { url: redisServer.url, prefix: 'svc-a:', timeoutMs: 10_000, connectTimeoutMs: 60_000 } }))
    try {
      expect(loaded.sharedStateAt).toBe(`127.0.0.1:${redisServer.port}`)
      const { sharedState } = loaded.options
      expect(sharedState).toBeDefined()
      const now = Date.now()
      expect(await sharedState?.replay.consume('k', now + 60_000, now)).toBe(true)
      expect(await sharedState?.replay.consume('k', now + 60_000, now)).toBe(false)
      expect(await sharedState?.counters.increment('n', now + 60_000, now)).toBe(1)
    } finally {
      loaded.disconnect()
    }
  })

  it('without the section, state stays per process and nothing is contacted', async () => {
    const loaded = await loadTxnTokenServiceConfig(write(undefined))
    expect([loaded.options.sharedState, loaded.sharedStateAt]).toEqual([undefined, undefined])
  })

  it('refuses plain redis:// off loopback, other schemes and a missing url', async () => {
    expect(await refusal({ redis: { url: 'redis://10.0.0.7:6379' } })).toMatch(/^sharedState\.redis\.url: .*rediss/)
    expect(await refusal({ redis: { url: 'http://127.0.0.1:6379' } })).toMatch(/^sharedState\.redis\.url: /)
    expect(await refusal({ redis: {} })).toMatch(/^sharedState\.redis\.url: /)
    expect(await refusal({ url: redisServer.url })).toMatch(/^sharedState: /)
    expect(await refusal({ redis: { url: redisServer.url, timeoutMs: 0 } })).toMatch(/^sharedState\.redis\.timeoutMs: /)
    expect(await refusal({ redis: { url: redisServer.url, prefix: 7 } })).toMatch(/^sharedState\.redis\.prefix: /)
  })

  it('stops start-up when Redis cannot be reached', async () => {
    const closed = await new Promise<number>((resolve) => {
      const probe = createServer().listen(0, '127.0.0.1', () => {
        const { port } = probe.address() as { port: number }
        probe.close(() => resolve(port))
      })
    })
    expect(await refusal({ redis: { url: `redis://127.0.0.1:${closed}`, connectTimeoutMs: 300 } })).toBe(
      `sharedState.redis: cannot connect to Redis at 127.0.0.1:${closed}`,
    )
  })
})
