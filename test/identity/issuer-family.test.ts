/**
 * Multi-tenant actor issuers over real HTTP on loopback: a provider with one issuer per tenant
 * (`<origin>/<tenant>`), each with its own discovery document and keys; the callee trusts a family
 * rule with an explicit allow-list.
 */
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { MeshguardError } from '../../packages/core/src/errors.js'
import { createIdentityVerifier, type ActorIssuerFamily, type TrustEvent } from '../../packages/core/src/identity/index.js'
import { createIdentityFixture, generateFixtureKey, serviceId, type ActorSpec, type FixtureKey, type IdentityFixture } from '../support/identity.js'
import { configOptionOf } from '../support/failures.js'

/** An actor given by its claims (the object member of ActorSpec, so `sub` is the claim, not String's method). */
type ActorClaims = Exclude<ActorSpec, string>

const TENANTS = ['acme', 'globex', 'initech'] as const

/** A provider with a tenant per path: discovery and JWKS per tenant, plus one shared JWKS. */
class TenantProvider {
  origin = ''
  readonly keys: Record<string, FixtureKey> = Object.fromEntries(TENANTS.map((t) => [t, generateFixtureKey('ES256', `${t}-1`)]))
  readonly hits: Record<string, number> = {}
  private readonly server: Server = createServer((req, res) => {
    const path = req.url ?? ''
    this.hits[path] = (this.hits[path] ?? 0) + 1
    const send = (body: unknown): void => void res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body))
    if (path === '/common/keys') return send({ keys: Object.values(this.keys).map((k) => k.publicJwk) })
    const match = /^\/([a-z]+)\/(\.well-known\/openid-configuration|keys)$/.exec(path)
    const key = match === null ? undefined : this.keys[match[1] as string]
    if (match === null || key === undefined) return void res.writeHead(404).end()
    const issuer = `${this.origin}/${match[1]}`
    send(match[2] === 'keys' ? { keys: [key.publicJwk] } : { issuer, jwks_uri: `${issuer}/keys` })
  })
  async start(): Promise<void> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve))
    this.origin = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`
  }
  stop(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()))
  }
  discoveries(tenant: string): number {
    return this.hits[`/${tenant}/.well-known/openid-configuration`] ?? 0
  }
}

describe('multi-tenant actor issuers', () => {
  let ids: IdentityFixture
  const provider = new TenantProvider()

  beforeAll(async () => {
    ids = await createIdentityFixture({ services: ['gateway', 'review-service'] })
    await provider.start()
  })
  afterAll(() => provider.stop())

  const verifierWith = (family: Partial<ActorIssuerFamily>, onEvent?: (e: TrustEvent) => void) =>
    createIdentityVerifier({
      audience: serviceId('review-service'),
      trust: {
        workloads: ids.trust().workloads,
        actorIssuerFamilies: [{ issuerTemplate: `${provider.origin}/{tenant}`, tenants: ['acme', 'globex'], audiences: ['meshguard'], ...family }],
        onEvent,
      },
    })

  /** Headers for a user of `tenant`, signed with `signer`'s key (default: the tenant's own). */
  async function userOf(tenant: string, sub: string, options: { signer?: string; claims?: Record<string, unknown> } = {}) {
    const key = provider.keys[options.signer ?? tenant] as FixtureKey
    const actor = await ids.mintActorToken({ sub } satisfies ActorClaims, { signWith: key, header: { kid: key.kid }, claims: { iss: `${provider.origin}/${tenant}`, ...options.claims } })
    const workload = await ids.mintWorkloadToken('gateway', { audience: 'review-service', actorToken: actor })
    return { authorization: `Bearer ${workload}`, 'x-meshguard-actor': actor }
  }

  const reason = (promise: Promise<unknown>): Promise<string> =>
    promise.then(
      () => 'accepted',
      (err: unknown) => (err as MeshguardError).reason,
    )

  it('trusts the listed tenants, each with its own keys, and shows the tenant to policies', async () => {
    const verifier = verifierWith({})
    const acme = await verifier.verify(await userOf('acme', 'alice'))
    expect(acme.actor?.id).toBe(`${provider.origin}/acme#alice`)
    expect(acme.actor?.issuer).toBe(`${provider.origin}/acme`)
    expect(acme.principal.attr?.['act']).toMatchObject({ user: { id: `${provider.origin}/acme#alice`, attr: { tenant: 'acme' } } })
    const globex = await verifier.verify(await userOf('globex', 'alice'))
    // The same sub in another tenant is another user.
    expect(globex.actor?.id).toBe(`${provider.origin}/globex#alice`)
    // A claim cannot change the tenant.
    const claimed = await verifier.verify(await userOf('acme', 'bob', { claims: { tenant: 'globex' } }))
    expect(claimed.actor?.attr['tenant']).toBe('acme')
  })

  it('refuses a tenant outside the allow-list without fetching anything for it', async () => {
    const verifier = verifierWith({})
    const before = provider.discoveries('initech')
    expect(await reason(verifier.verify(await userOf('initech', 'mallory')))).toBe('unknown_issuer')
    expect(provider.discoveries('initech')).toBe(before)
    // Nor does anything look like a tenant that is not one path segment of the template.
    const nested = await ids.mintActorToken({ sub: 'x' } satisfies ActorClaims, { claims: { iss: `${provider.origin}/acme/extra` } })
    const workload = await ids.mintWorkloadToken('gateway', { audience: 'review-service', actorToken: nested })
    expect(await reason(verifier.verify({ authorization: `Bearer ${workload}`, 'x-meshguard-actor': nested }))).toBe('unknown_issuer')
  })

  it("refuses one tenant's token signed with another tenant's key", async () => {
    const verifier = verifierWith({})
    expect(await reason(verifier.verify(await userOf('acme', 'alice', { signer: 'globex' })))).toBe('unknown_key')
  })

  it('asks an allow function once per tenant; one that throws trusts nobody', async () => {
    const asked: string[] = []
    const verifier = verifierWith({
      tenants: (tenant) => {
        asked.push(tenant)
        if (tenant === 'initech') throw new Error('directory down')
        return tenant.startsWith('g')
      },
    })
    expect(await reason(verifier.verify(await userOf('globex', 'a')))).toBe('accepted')
    expect(await reason(verifier.verify(await userOf('globex', 'b')))).toBe('accepted')
    expect(await reason(verifier.verify(await userOf('acme', 'a')))).toBe('unknown_issuer')
    expect(await reason(verifier.verify(await userOf('initech', 'a')))).toBe('unknown_issuer')
    expect(asked).toEqual(['globex', 'acme', 'initech'])
  })

  it('a family sharing one key source fetches it once for every tenant', async () => {
    const events: TrustEvent[] = []
    const verifier = verifierWith({ keys: { jwksUrl: `${provider.origin}/common/keys` } }, (e) => events.push(e))
    await verifier.verify(await userOf('acme', 'alice'))
    await verifier.verify(await userOf('globex', 'alice'))
    expect(events.filter((e) => e.type === 'jwks_fetched')).toHaveLength(1)
    expect(events.some((e) => e.type === 'discovery_fetched')).toBe(false)
  })

  it('keeps at most maxTenants tenants: one that was dropped is resolved again', async () => {
    const verifier = verifierWith({ maxTenants: 1 })
    const before = provider.discoveries('acme')
    await verifier.verify(await userOf('acme', 'a'))
    await verifier.verify(await userOf('acme', 'b'))
    expect(provider.discoveries('acme')).toBe(before + 1)
    await verifier.verify(await userOf('globex', 'a'))
    await verifier.verify(await userOf('acme', 'c'))
    expect(provider.discoveries('acme')).toBe(before + 2)
  })

  it('refuses family rules that could trust any issuer', () => {
    const optionOf = (family: Partial<ActorIssuerFamily>): string => configOptionOf(() => verifierWith(family))
    expect(optionOf({ issuerTemplate: 'https://login.example.com/v2.0' })).toBe('trust.actorIssuerFamilies[0].issuerTemplate')
    expect(optionOf({ issuerTemplate: 'https://{tenant}.example.com/' })).toBe('trust.actorIssuerFamilies[0].issuerTemplate')
    expect(optionOf({ issuerTemplate: 'https://login.example.com:{tenant}/' })).toBe('trust.actorIssuerFamilies[0].issuerTemplate')
    expect(optionOf({ issuerTemplate: 'http://login.example.com/{tenant}' })).toBe('trust.actorIssuerFamilies[0].issuerTemplate')
    expect(optionOf({ tenants: [] })).toBe('trust.actorIssuerFamilies[0].tenants')
    expect(optionOf({ tenants: ['a/b'] })).toBe('trust.actorIssuerFamilies[0].tenants')
    expect(optionOf({ tenants: undefined })).toBe('trust.actorIssuerFamilies[0].tenants')
    expect(optionOf({ actorIdPrefix: '' } as never)).toBe('trust.actorIssuerFamilies[0].actorIdPrefix')
    expect(optionOf({ maxTenants: 0 })).toBe('trust.actorIssuerFamilies[0].maxTenants')
    expect(optionOf({ audiences: [] })).toBe('trust.actorIssuerFamilies[0].audiences')
  })
})
