/**
 * OIDC discovery over real HTTP on loopback: an actor issuer configured by `issuer` alone, against
 * the sample oidc-provider, and against a metadata server that lies, fails and moves its JWKS.
 */
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ConfigError, UnavailableError, type MeshguardError } from '../../packages/core/src/errors.js'
import { createIdentityVerifier, type PublicJwk, type TrustEvent } from '../../packages/core/src/identity/index.js'
import { startIdp } from '../../examples/idp/src/index.mjs'
import { createIdentityFixture, generateFixtureKey, serviceId, type IdentityFixture } from '../support/identity.js'

const CALLEE = 'review-service'

/** Waits (macrotask by macrotask) until the condition holds: background fetches are real HTTP. */
async function until(condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise((resolve) => setTimeout(resolve, 5))
}

/** A provider's metadata and JWKS on loopback, with switches to make it lie or fail. */
class MetadataServer {
  issuer = ''
  keys: PublicJwk[] = []
  /** What `/.well-known/openid-configuration` answers. */
  mode: 'up' | 'down' | 'wrong-issuer' | 'foreign-jwks' | 'moved-jwks' = 'up'
  readonly hits = { discovery: 0, jwks: 0, movedJwks: 0 }
  private readonly server: Server = createServer((req, res) => {
    const send = (status: number, body: unknown): void => {
      res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body))
    }
    if (req.url === '/.well-known/openid-configuration') {
      this.hits.discovery++
      if (this.mode === 'down') return send(503, {})
      const issuer = this.mode === 'wrong-issuer' ? 'https://attacker.example' : this.issuer
      const jwksUri =
        this.mode === 'foreign-jwks' ? 'http://keys.attacker.example/jwks' : `${this.issuer}/${this.mode === 'moved-jwks' ? 'keys-2' : 'keys'}`
      return send(200, { issuer, jwks_uri: jwksUri })
    }
    if (req.url === '/keys') {
      this.hits.jwks++
      return send(200, { keys: this.keys })
    }
    if (req.url === '/keys-2') {
      this.hits.movedJwks++
      return send(200, { keys: this.keys })
    }
    send(404, {})
  })
  async start(): Promise<void> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve))
    this.issuer = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`
  }
  stop(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()))
  }
}

describe('OIDC discovery of actor issuers', () => {
  let ids: IdentityFixture
  let idp: Awaited<ReturnType<typeof startIdp>>
  const metadata = new MetadataServer()

  beforeAll(async () => {
    ids = await createIdentityFixture({ services: ['gateway', CALLEE] })
    idp = await startIdp()
    await metadata.start()
    metadata.keys = [ids.userIssuer.publicJwk]
  })
  afterAll(async () => {
    await idp.close()
    await metadata.stop()
  })

  /** A verifier for the callee trusting the gateway and one discovered actor issuer. */
  function verifierFor(issuer: string, audience: string, extra: { clock?: () => number; onEvent?: (e: TrustEvent) => void; discovery?: object } = {}) {
    const trust = ids.trust()
    return createIdentityVerifier({
      audience: serviceId(CALLEE),
      clock: extra.clock,
      trust: {
        workloads: trust.workloads,
        actors: [{ issuer, audiences: [audience], ...(extra.discovery === undefined ? {} : { keys: { discovery: extra.discovery } }) }],
        onEvent: extra.onEvent,
        clock: extra.clock,
      },
    })
  }

  async function headersWith(actorToken: string): Promise<Record<string, string>> {
    const workload = await ids.mintWorkloadToken('gateway', { audience: CALLEE, actorToken })
    return { authorization: `Bearer ${workload}`, 'x-meshguard-actor': actorToken }
  }

  it('verifies the sample IdP’s access tokens with nothing configured but its issuer', async () => {
    const events: TrustEvent[] = []
    const verifier = verifierFor(idp.issuer, idp.audience, { onEvent: (e) => events.push(e) })
    const caller = await verifier.verify(await headersWith(await idp.userToken('alice')), { actor: 'required' })
    expect(caller.actor?.id).toBe('alice')
    expect(caller.actor?.issuer).toBe(idp.issuer)
    // A second user's token: the discovery document and the key set are cached.
    const again = await verifier.verify(await headersWith(await idp.userToken('hana')), { actor: 'required' })
    expect(again.actor?.id).toBe('hana')
    expect(events.filter((e) => e.type === 'discovery_fetched')).toHaveLength(1)
    expect(events.filter((e) => e.type === 'jwks_fetched')).toHaveLength(1)
    const fetched = events.find((e) => e.type === 'jwks_fetched')
    expect(fetched?.type === 'jwks_fetched' && fetched.source).toBe(`${idp.issuer}/jwks`)
  })

  it('refuses a token of the IdP for another audience', async () => {
    const verifier = verifierFor(idp.issuer, 'https://other.example')
    const err = await verifier.verify(await headersWith(await idp.userToken('alice'))).catch((e: unknown) => e)
    expect((err as MeshguardError).reason).toBe('aud_mismatch')
  })

  it('fails closed when the document names another issuer or a JWKS it may not fetch', async () => {
    for (const [mode, error] of [
      ['wrong-issuer', 'issuer mismatch'],
      ['foreign-jwks', 'jwks_uri missing or not fetchable'],
    ] as const) {
      metadata.mode = mode
      const events: TrustEvent[] = []
      const verifier = verifierFor(metadata.issuer, 'meshguard', { onEvent: (e) => events.push(e) })
      const token = await ids.mintActorToken('alice', { claims: { iss: metadata.issuer } })
      const err = await verifier.verify(await headersWith(token)).catch((e: unknown) => e)
      expect(err).toBeInstanceOf(UnavailableError)
      expect((err as UnavailableError).reason).toBe('discovery_unavailable')
      expect((err as UnavailableError).httpStatus).toBe(503)
      expect(events).toContainEqual({ type: 'discovery_fetch_failed', source: `${metadata.issuer}/.well-known/openid-configuration`, error })
      expect(events.some((e) => e.type === 'jwks_fetched')).toBe(false)
    }
    metadata.mode = 'up'
  })

  it('serves the last document while the endpoint fails, within the stale window, then fails closed', async () => {
    metadata.mode = 'up'
    let now = Date.now()
    const clock = (): number => now
    const failures: TrustEvent[] = []
    const verifier = verifierFor(metadata.issuer, 'meshguard', {
      clock,
      discovery: { cacheMaxAgeMs: 60_000, staleIfErrorMs: 120_000, cooldownMs: 0 },
      onEvent: (e) => e.type === 'discovery_fetch_failed' && failures.push(e),
    })
    const token = await ids.mintActorToken('alice', { claims: { iss: metadata.issuer }, lifetime: 3600 })
    const headers = await headersWith(token)
    expect((await verifier.verify(headers)).actor?.id).toBe('alice')

    metadata.mode = 'down'
    const before = metadata.hits.discovery
    now += 90_000 // stale, inside the window: answered, and one background refresh fails
    expect((await verifier.verify(await headersWith(token))).actor?.id).toBe('alice')
    await until(() => failures.length === 1)
    expect(metadata.hits.discovery).toBe(before + 1)

    now += 100_000 // 190 s old: past cacheMaxAgeMs + staleIfErrorMs
    const err = await verifier.verify(await headersWith(token)).catch((e: unknown) => e)
    expect((err as MeshguardError).reason).toBe('discovery_unavailable')

    metadata.mode = 'up' // the endpoint is back: the next lookup fetches again
    expect((await verifier.verify(await headersWith(token))).actor?.id).toBe('alice')
  })

  it('follows a refreshed document to its new jwks_uri', async () => {
    metadata.mode = 'up'
    let now = Date.now()
    const clock = (): number => now
    let fetched = 0
    const verifier = verifierFor(metadata.issuer, 'meshguard', {
      clock,
      discovery: { cacheMaxAgeMs: 60_000 },
      onEvent: (e) => e.type === 'discovery_fetched' && fetched++,
    })
    const token = await ids.mintActorToken('ed', { claims: { iss: metadata.issuer }, lifetime: 3600 })
    await verifier.verify(await headersWith(token))
    metadata.mode = 'moved-jwks'
    const moved = metadata.hits.movedJwks
    now += 61_000
    // The stale document answers at once and refreshes in the background; the next lookup uses the new one.
    await verifier.verify(await headersWith(token))
    await until(() => fetched === 2)
    expect((await verifier.verify(await headersWith(token))).actor?.id).toBe('ed')
    expect(metadata.hits.movedJwks).toBe(moved + 1)
    metadata.mode = 'up'
  })

  it('a key the discovered JWKS does not hold is refused', async () => {
    metadata.mode = 'up'
    const verifier = verifierFor(metadata.issuer, 'meshguard')
    const stranger = generateFixtureKey('ES256', ids.userIssuer.kid)
    const token = await ids.mintActorToken('alice', { claims: { iss: metadata.issuer }, signWith: stranger })
    const err = await verifier.verify(await headersWith(token)).catch((e: unknown) => e)
    expect((err as MeshguardError).reason).toBe('signature_invalid')
  })

  it('rejects discovery options it cannot use at start-up', () => {
    const attempt = (actor: object): unknown => {
      try {
        createIdentityVerifier({ audience: serviceId(CALLEE), trust: { workloads: ids.trust().workloads, actors: [actor as never] } })
        return undefined
      } catch (err) {
        return err
      }
    }
    const plainHttp = attempt({ issuer: 'http://idp.example.org', audiences: ['a'] }) as ConfigError
    expect(plainHttp).toBeInstanceOf(ConfigError)
    expect(plainHttp.option).toBe('trust.actors[0].keys.discovery.issuer')
    const badTimeout = attempt({ issuer: 'https://idp.example.org', audiences: ['a'], keys: { discovery: { timeoutMs: -1 } } }) as ConfigError
    expect(badTimeout.option).toBe('trust.actors[0].keys.discovery.timeoutMs')
    const badShape = attempt({ issuer: 'https://idp.example.org', audiences: ['a'], keys: { discovery: 'yes' } }) as ConfigError
    expect(badShape.option).toBe('trust.actors[0].keys.discovery')
    // A workload anchor without an issuer has nothing to discover.
    expect(() =>
      createIdentityVerifier({
        audience: serviceId(CALLEE),
        trust: { workloads: [{ identities: ['spiffe://example.org/*'], keys: { discovery: true } }] },
      }),
    ).toThrow(/keys\.discovery: needs the issuer/)
  })
})
