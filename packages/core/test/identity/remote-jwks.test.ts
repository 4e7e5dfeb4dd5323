import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { ConfigError, MeshguardError, UnavailableError } from '../../src/errors.js'
import {
  createIdentityVerifier,
  createTrustBundle,
  type IdentityVerifier,
  type PublicJwk,
  type TrustBundle,
  type TrustEvent,
} from '../../src/identity/index.js'
import { createIdentityFixture, generateFixtureKey, type FixtureKey, type IdentityFixture } from '../../../../test/support/identity.js'

const until = async (condition: () => boolean): Promise<void> => {
  while (!condition()) await new Promise((resolve) => setImmediate(resolve))
}

/** A real JWKS endpoint on loopback that can rotate keys, fail, hang and come back. */
class JwksServer {
  keys: PublicJwk[] = []
  mode: 'up' | 'down' | 'hang' | 'huge' | 'redirect' = 'up'
  requests = 0
  private readonly server: Server
  /** Requests accepted and never answered (mode `hang`), released by stop() or release(). */
  readonly hanging = new Set<() => void>()
  constructor() {
    this.server = createServer((_req, res) => {
      this.requests++
      if (this.mode === 'down') {
        res.writeHead(503).end('unavailable')
        return
      }
      if (this.mode === 'huge') {
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: this.keys, pad: 'x'.repeat(600_000) }))
        return
      }
      if (this.mode === 'redirect') {
        res.writeHead(302, { location: 'http://127.0.0.1:1/elsewhere' }).end()
        return
      }
      if (this.mode === 'hang') {
        this.hanging.add(() => res.destroy())
        return
      }
      res.writeHead(200, { 'content-type': 'application/jwk-set+json' }).end(JSON.stringify({ keys: this.keys }))
    })
  }
  async start(): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve))
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/jwks.json`
  }
  release(): void {
    for (const release of this.hanging) release()
    this.hanging.clear()
  }
  async stop(): Promise<void> {
    for (const release of this.hanging) release()
    await new Promise<void>((resolve) => this.server.close(() => resolve()))
  }
}

describe('remote JWKS against a real loopback server', () => {
  const server = new JwksServer()
  let url: string
  let ids: IdentityFixture
  let k1: FixtureKey
  let k2: FixtureKey
  let now: number
  let events: TrustEvent[]
  let bundle: TrustBundle
  let verifier: IdentityVerifier
  const svc = (): string => ids.services['svc']?.id as string

  beforeAll(async () => {
    url = await server.start()
    ids = await createIdentityFixture({ services: ['svc', 'callee'] })
    k1 = generateFixtureKey('ES256', 'k1')
    k2 = generateFixtureKey('EdDSA', 'k2')
  })
  afterAll(() => server.stop())

  function build(options: { cooldownMs?: number; timeoutMs?: number } = {}): void {
    // Each bundle reports into its own array: a fetch a previous test left hanging reports elsewhere.
    const own: TrustEvent[] = (events = [])
    bundle = createTrustBundle({
      workloads: [{ issuer: svc(), keys: { jwksUrl: url, cooldownMs: 30_000, cacheMaxAgeMs: 600_000, staleIfErrorMs: 3_600_000, ...options } }],
      onEvent: (e) => own.push(e),
      clock: () => now,
    })
    verifier = createIdentityVerifier({ audience: ids.services['callee']?.id, trust: bundle, cacheSize: 0, clock: () => now })
  }

  const token = (key: FixtureKey, kid = key.kid): Promise<string> =>
    ids.mintWorkloadToken('svc', { audience: 'callee', signWith: key, header: { kid, alg: key.alg }, now: Math.floor(now / 1000) })
  const verify = async (key: FixtureKey, kid?: string) => verifier.verify({ authorization: `Bearer ${await token(key, kid)}` })
  const reason = async (key: FixtureKey, kid?: string): Promise<string> => {
    const err = await verify(key, kid).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(MeshguardError)
    return (err as MeshguardError).reason
  }

  /** Resolves once `n` fetches have completed (order of events, no timing). */
  const fetched = async (n: number): Promise<void> => {
    while (events.filter((e) => e.type === 'jwks_fetched').length < n) await new Promise((resolve) => setImmediate(resolve))
  }

  beforeEach(() => {
    server.release()
    server.keys = [k1.publicJwk]
    server.mode = 'up'
    server.requests = 0
    now = Date.now()
    build()
  })

  it('fetches once on first use, then serves from its cache', async () => {
    await verify(k1)
    await verify(k1)
    expect(server.requests).toBe(1)
    expect(bundle.counters().jwksFetches).toBe(1)
  })

  it('answers without a promise from a fresh key set and from a stale one it revalidates in the background', async () => {
    const inline = createIdentityVerifier({ audience: ids.services['callee']?.id, trust: bundle, cacheSize: 0, clock: () => now, signatureCheck: 'inline' })
    const headers = async () => ({ authorization: `Bearer ${await token(k1)}` })
    // First use: the set is fetched (a promise).
    const first = inline.verifyNow(await headers())
    expect(first).toBeInstanceOf(Promise)
    await first
    const fresh = inline.verifyNow(await headers())
    expect(fresh).not.toBeInstanceOf(Promise)
    expect(server.requests).toBe(1)
    // Past cacheMaxAgeMs a known kid still answers at once, and one refresh starts behind it.
    now += 600_001
    const stale = inline.verifyNow(await headers())
    expect(stale).not.toBeInstanceOf(Promise)
    await fetched(2)
    expect(server.requests).toBe(2)
    // The refreshed set's key objects are new: their first use imports them (a promise), then none.
    await inline.verifyNow(await headers())
    expect(inline.verifyNow(await headers())).not.toBeInstanceOf(Promise)
    expect(server.requests).toBe(2)
  })

  it('de-duplicates concurrent cold fetches', async () => {
    const tokens = await Promise.all(Array.from({ length: 25 }, () => token(k1)))
    await Promise.all(tokens.map((t) => verifier.verify({ authorization: `Bearer ${t}` })))
    expect(server.requests).toBe(1)
  })

  it('picks up a rotated-in key after the cooldown, not before', async () => {
    await verify(k1)
    server.keys = [k1.publicJwk, k2.publicJwk]
    now += 5_000
    expect(await reason(k2)).toBe('unknown_key')
    expect(events.some((e) => e.type === 'jwks_refresh_suppressed')).toBe(true)
    now += 30_000
    await expect(verify(k2)).resolves.toBeDefined()
    expect(server.requests).toBe(2)
  })

  it('does not let a storm of random kids force fetches', async () => {
    await verify(k1)
    now += 31_000
    const storm = await Promise.all(Array.from({ length: 200 }, (_, i) => token(k1, `random-${i}`)))
    const results = await Promise.allSettled(storm.map((t) => verifier.verify({ authorization: `Bearer ${t}` })))
    expect(results.every((r) => r.status === 'rejected')).toBe(true)
    expect(server.requests).toBeLessThanOrEqual(2)
  })

  it('stops trusting a key removed from the set once the cache refreshes', async () => {
    await verify(k1)
    server.keys = [k2.publicJwk]
    now += 600_001
    // A new kid waits for the refresh; the refreshed set no longer has k1.
    await expect(verify(k2)).resolves.toBeDefined()
    expect(await reason(k1)).toBe('unknown_key')
  })

  it('stops trusting a removed key as soon as the background refresh lands', async () => {
    await verify(k1)
    server.keys = [k2.publicJwk]
    now += 600_001
    // Served from the stale set while it revalidates...
    await expect(verify(k1)).resolves.toBeDefined()
    await fetched(2)
    // ...and refused once the refreshed set is in.
    expect(await reason(k1)).toBe('unknown_key')
  })

  it('serves known keys stale while the endpoint is down, then fails closed, then recovers', async () => {
    await verify(k1)
    server.mode = 'down'
    now += 700_000
    await expect(verify(k1)).resolves.toBeDefined()
    expect(events.some((e) => e.type === 'jwks_stale_served')).toBe(true)
    // The refresh behind that answer fails in the background.
    await until(() => events.some((e) => e.type === 'jwks_fetch_failed'))
    expect(bundle.counters().jwksStaleServed).toBeGreaterThan(0)
    now += 3_600_000
    const err = await verify(k1).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(UnavailableError)
    expect((err as UnavailableError).reason).toBe('jwks_unavailable')
    expect((err as UnavailableError).httpStatus).toBe(503)
    server.mode = 'up'
    now += 31_000
    await expect(verify(k1)).resolves.toBeDefined()
  })

  it('fails closed when the first fetch times out', async () => {
    server.mode = 'hang'
    build({ timeoutMs: 150 })
    expect(await reason(k1)).toBe('jwks_unavailable')
    expect(events.find((e) => e.type === 'jwks_fetch_failed')).toMatchObject({ error: 'timeout' })
  })

  it('refuses oversized key sets and does not follow redirects', async () => {
    server.mode = 'huge'
    expect(await reason(k1)).toBe('jwks_unavailable')
    expect(events.find((e) => e.type === 'jwks_fetch_failed')).toMatchObject({ error: 'JWKS larger than 512 KiB' })
    server.mode = 'redirect'
    build()
    expect(await reason(k1)).toBe('jwks_unavailable')
    expect(events.find((e) => e.type === 'jwks_fetch_failed')).toMatchObject({ error: 'HTTP 302' })
  })

  describe('while the endpoint accepts and never answers', () => {
    it('answers a known kid in its stale window at once, with one refresh hanging behind it', async () => {
      build({ timeoutMs: 25_000 })
      await verify(k1)
      server.mode = 'hang'
      now += 600_001
      const results = await Promise.all(Array.from({ length: 20 }, () => verify(k1)))
      expect(results).toHaveLength(20)
      // Every answer came while the one refresh was still hanging: no failure reported yet.
      await until(() => server.hanging.size === 1)
      expect(server.requests).toBe(2)
      expect(events.some((e) => e.type === 'jwks_fetch_failed')).toBe(false)
      expect(events.filter((e) => e.type === 'jwks_stale_served')).toHaveLength(20)
    })

    it('makes an unknown kid wait for the refresh, bounded by timeoutMs, then refuses it', async () => {
      build({ timeoutMs: 200 })
      await verify(k1)
      server.mode = 'hang'
      now += 31_000
      const order: string[] = []
      const unknown = verify(k2).then(
        () => order.push('verified'),
        (e: unknown) => order.push(`refused:${(e as MeshguardError).reason}`),
      )
      // Meanwhile the known key still answers without waiting for the hung fetch.
      await verify(k1)
      order.push('known answered')
      await unknown
      expect(order).toEqual(['known answered', 'refused:unknown_key'])
      expect(events.find((e) => e.type === 'jwks_fetch_failed')).toMatchObject({ error: 'timeout' })
      expect(server.requests).toBe(2)
    })

    it('releases waiters at the deadline even when the fetch implementation ignores the abort signal', async () => {
      let calls = 0
      const never: typeof fetch = () => {
        calls++
        return new Promise<Response>(() => undefined)
      }
      events = []
      const trust = createTrustBundle({
        workloads: [{ issuer: svc(), keys: { jwksUrl: url, timeoutMs: 100, fetch: never } }],
        onEvent: (e) => events.push(e),
        clock: () => now,
      })
      const cold = createIdentityVerifier({ audience: ids.services['callee']?.id, trust, cacheSize: 0, clock: () => now })
      const err = await cold.verify({ authorization: `Bearer ${await token(k1)}` }).catch((e: unknown) => e)
      expect((err as MeshguardError).reason).toBe('jwks_unavailable')
      expect(events.filter((e) => e.type === 'jwks_fetch_failed')).toEqual([expect.objectContaining({ error: 'timeout' })])
      expect(calls).toBe(1)
    })
  })

  it('refuses plain http to non-loopback hosts at configuration time', () => {
    expect(() =>
      createTrustBundle({ workloads: [{ issuer: svc(), keys: { jwksUrl: 'http://idp.example.org/jwks' } }] }),
    ).toThrow(ConfigError)
  })
})
