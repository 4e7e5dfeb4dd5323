/**
 * One-time use of workload tokens across replicas: two replicas of a callee on loopback HTTP share
 * a real redis-server (installed and started by scripts/redis-server.mjs; a machine that cannot
 * install it fails this suite, it never skips).
 */
import type { Server } from 'node:http'
import { createClient } from 'redis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createIdentityVerifier, redisReplayStore, type ReplayOptions } from '../../packages/core/src/identity/index.js'
import { startRedisServer } from '../../scripts/redis-server.mjs'
import { createIdentityFixture, type IdentityFixture } from '../support/identity.js'
import { startVerifyingService } from '../support/verifying-service.js'

type Redis = Awaited<ReturnType<typeof connect>>

function connect(url: string) {
  // No offline queue: while Redis is down, commands fail at once instead of waiting for it.
  return createClient({ url, disableOfflineQueue: true, socket: { reconnectStrategy: 50 } })
    .on('error', () => undefined)
    .connect()
}

async function call(url: string, token: string): Promise<{ status: number; reason?: string }> {
  const res = await fetch(`${url}/reviews/1`, { headers: { authorization: `Bearer ${token}` } })
  const body = (await res.json()) as { reason?: string }
  return { status: res.status, ...(body.reason === undefined ? {} : { reason: body.reason }) }
}

describe('shared replay store in a real redis-server', () => {
  let ids: IdentityFixture
  let redisServer: Awaited<ReturnType<typeof startRedisServer>>
  let redis: Redis
  const servers: Server[] = []
  let replicas: string[]

  const replica = async (replay: ReplayOptions): Promise<string> => {
    const started = await startVerifyingService(createIdentityVerifier(ids.verifierOptions('review-service', { replay })), async () => ({}), 'optional')
    servers.push(started.server)
    return started.url
  }

  beforeAll(async () => {
    ids = await createIdentityFixture({ services: ['employee-service', 'review-service'] })
    redisServer = await startRedisServer()
    redis = await connect(redisServer.url)
    const store = redisReplayStore(redis)
    replicas = [await replica({ store }), await replica({ store })]
  }, 600_000)
  afterAll(async () => {
    await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))))
    if (redis.isOpen) await redis.close()
    await redisServer.stop()
  })

  const mint = (lifetime = 300): Promise<string> => ids.mintWorkloadToken('employee-service', { audience: 'review-service', lifetime })

  it('a token accepted by one replica is refused by the other', async () => {
    const token = await mint()
    expect(await call(replicas[0] as string, token)).toEqual({ status: 200 })
    expect(await call(replicas[1] as string, token)).toEqual({ status: 401, reason: 'token_replayed' })
    expect(await call(replicas[0] as string, token)).toEqual({ status: 401, reason: 'token_replayed' })
  })

  it('of the same token sent to both replicas at once, exactly one is accepted', async () => {
    for (let round = 0; round < 10; round++) {
      const token = await mint()
      const answers = await Promise.all([...replicas, ...replicas].map((url) => call(url, token)))
      expect(answers.filter((a) => a.status === 200)).toHaveLength(1)
      expect(answers.filter((a) => a.reason === 'token_replayed')).toHaveLength(3)
    }
  })

  it('keeps each id only as long as its token can be accepted', async () => {
    const before = new Set(await redis.keys('meshguard:jti:*'))
    const token = await mint(60)
    const { exp } = JSON.parse(Buffer.from(token.split('.')[1] as string, 'base64url').toString()) as { exp: number }
    const sent = Date.now()
    await call(replicas[0] as string, token)
    const added = (await redis.keys('meshguard:jti:*')).filter((key) => !before.has(key))
    expect(added).toHaveLength(1)
    const ttl = await redis.pTTL(added[0] as string)
    const read = Date.now()
    // Until exp plus the 30 s clock tolerance: what is left of that between sending and reading.
    const keptUntil = exp * 1000 + 30_000
    expect(ttl).toBeLessThanOrEqual(keptUntil - sent + 1)
    expect(ttl).toBeGreaterThanOrEqual(keptUntil - read - 1)
  })

  it('fails closed while Redis is down, or lets tokens through with onStoreError: accept', async () => {
    const openReplica = await replica({ store: redisReplayStore(redis), onStoreError: 'accept' })
    await redisServer.stop()
    expect(await call(replicas[0] as string, await mint())).toEqual({ status: 503, reason: 'replay_store_unavailable' })
    expect(await call(openReplica, await mint())).toEqual({ status: 200 })
  })
})
