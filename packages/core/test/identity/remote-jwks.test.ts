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

/** A real JWKS endpoint on loopback that can rotate keys, fail, hang and come back. */
class JwksServer {
  keys: PublicJwk[] = []
  mode: 'up' | 'down' | 'hang' | 'huge' | 'redirect' = 'up'
  requests = 0
  private readonly server: Server
  private readonly hanging = new Set<() => void>()
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
    events = []
    bundle = createTrustBundle({
      workloads: [{ issuer: svc(), keys: { jwksUrl: url, cooldownMs: 30_000, cacheMaxAgeMs: 600_000, staleIfErrorMs: 3_600_000, ...options } }],
      onEvent: (e) => events.push(e),
      clock: () => now,
    })
    verifier = createIdentityVerifier({ audience: ids.services['callee']?.id as string, trust: bundle, cacheSize: 0, clock: () => now })
  }

  const token = (key: FixtureKey, kid = key.kid): Promise<string> =>
    ids.mintWorkloadToken('svc', { audience: 'callee', signWith: key, header: { kid, alg: key.alg }, now: Math.floor(now / 1000) })
  const verify = async (key: FixtureKey, kid?: string) => verifier.verify({ authorization: `Bearer ${await token(key, kid)}` })
  const reason = async (key: FixtureKey, kid?: string): Promise<string> => {
    const err = await verify(key, kid).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(MeshguardError)
    return (err as MeshguardError).reason
  }

  beforeEach(() => {
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

  it('answers without a promise from a fresh key set, and with one when the set is due a refresh', async () => {
    const inline = createIdentityVerifier({ audience: ids.services['callee']?.id as string, trust: bundle, cacheSize: 0, clock: () => now, signatureCheck: 'inline' })
    const headers = async () => ({ authorization: `Bearer ${await token(k1)}` })
    // First use: the set is fetched (a promise).
    const first = inline.verifyNow(await headers())
    expect(first).toBeInstanceOf(Promise)
    await first
    const fresh = inline.verifyNow(await headers())
    expect(fresh).not.toBeInstanceOf(Promise)
    expect(server.requests).toBe(1)
    // Past cacheMaxAgeMs the lookup refreshes first: a promise again, and one more fetch.
    now += 600_001
    const due = inline.verifyNow(await headers())
    expect(due).toBeInstanceOf(Promise)
    await due
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
    expect(await reason(k1)).toBe('unknown_key')
    await expect(verify(k2)).resolves.toBeDefined()
  })

  it('serves known keys stale while the endpoint is down, then fails closed, then recovers', async () => {
    await verify(k1)
    server.mode = 'down'
    now += 700_000
    await expect(verify(k1)).resolves.toBeDefined()
    expect(events.some((e) => e.type === 'jwks_fetch_failed')).toBe(true)
    expect(events.some((e) => e.type === 'jwks_stale_served')).toBe(true)
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

  it('refuses plain http to non-loopback hosts at configuration time', () => {
    expect(() =>
      createTrustBundle({ workloads: [{ issuer: svc(), keys: { jwksUrl: 'http://idp.example.org/jwks' } }] }),
    ).toThrow(ConfigError)
  })
})
