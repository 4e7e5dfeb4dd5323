/**
 * The WIT issuer and its client over real HTTP on loopback: `witIssuerSource` (core) obtains a WIT
 * from the Txn-Token Service's `/wit` endpoint, holds it without blocking, renews it past half its
 * life with a fresh key, and fails closed with a typed error when it holds none; every WIT verifies
 * with jose against the published WIT JWKS.
 */
import { createPublicKey } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { createRemoteJWKSet, jwtVerify } from 'jose'
import { ConfigError, MintError } from '@meshguard/core'
import { witIssuerSource, type WitSource, type WorkloadCredential } from '@meshguard/core/wimse'
import { startWitIssuer, TYPES, type WitFixture } from '../../packages/txn-token-service/test/support/wit.js'
import { TRUST_DOMAIN } from '../support/identity.js'

const REVIEWS = `spiffe://${TRUST_DOMAIN}/ns/reviews/sa/reviews`

describe('witIssuerSource against the WIT issuer on loopback', () => {
  const base = Date.now()
  let offset = 0
  const clock = (): number => base + offset
  const seconds = (): number => Math.floor(clock() / 1000)
  let wit: WitFixture
  let requests = 0
  let failIssuer = false
  const countingFetch: typeof fetch = (input, init) => {
    requests++
    return failIssuer ? Promise.reject(new Error('connection refused')) : fetch(input, init)
  }
  let source: WitSource

  beforeAll(async () => {
    wit = await startWitIssuer({ clock }, { lifetime: 600 })
    source = witIssuerSource({
      issuerUrl: wit.url,
      attestationType: TYPES.jwtSvid,
      // A fresh JWT-SVID on the shared clock, as a SPIRE agent would hand out.
      attestation: () => wit.svid(REVIEWS, { iat: seconds(), exp: seconds() + 300 }),
      fetch: countingFetch,
      clock,
      minBackoffMs: 5000,
    })
  })
  afterAll(async () => {
    await source.close?.()
    await wit.close()
  })

  const verified = async (credential: WorkloadCredential): Promise<Record<string, unknown>> => {
    const jwks = createRemoteJWKSet(new URL(`${wit.url}/.well-known/wit-jwks.json`))
    const { payload, protectedHeader } = await jwtVerify(credential.wit, jwks, { issuer: wit.url, typ: 'wit+jwt', currentDate: new Date(clock()) })
    expect(protectedHeader.kid).toBe('wit-1')
    const cnf = payload['cnf'] as { jwk: Record<string, unknown> }
    // The WIT binds exactly the private key the source holds, with its algorithm.
    expect(cnf.jwk).toMatchObject({ ...(createPublicKey(credential.privateKey).export({ format: 'jwk' }) as Record<string, unknown>), alg: credential.alg })
    return payload
  }

  it('obtains a WIT bound to a fresh key and holds it without asking again', async () => {
    const first = await source.current()
    expect(first).toMatchObject({ sub: REVIEWS, alg: 'ES256' })
    const claims = await verified(first)
    expect(claims).toMatchObject({ sub: REVIEWS, exp: first.expiresAt })
    expect(requests).toBe(1)
    expect(await source.current()).toBe(first)
    expect(requests).toBe(1)
  })

  it('renews past half its life in the background, answering the held WIT meanwhile', async () => {
    const held = await source.current()
    offset = 301_000
    // Past half-life: the held credential comes back at once while a renewal runs.
    expect(source.current()).toBe(held)
    await vi.waitFor(async () => expect((await source.current()).wit).not.toBe(held.wit))
    const renewed = await source.current()
    expect(renewed.privateKey).not.toBe(held.privateKey)
    expect(renewed.expiresAt).toBeGreaterThan(held.expiresAt)
    await verified(renewed)
    expect(requests).toBe(2)
  })

  it('fails closed with a typed error once no valid WIT is held, and backs off', async () => {
    const held = await source.current()
    failIssuer = true
    offset = (held.expiresAt + 1) * 1000 - base
    const first = await Promise.resolve(source.current()).then(
      () => undefined,
      (err: unknown) => err,
    )
    expect(first).toBeInstanceOf(MintError)
    expect((first as MintError).reason).toBe('wit_issuer_unavailable')
    const during = requests
    // Within the backoff the source answers at once, without asking the issuer.
    const second = await Promise.resolve(source.current()).catch((err: unknown) => err)
    expect((second as MintError).reason).toBe('wit_unavailable')
    expect(requests).toBe(during)
    failIssuer = false
    offset += 5001
    const recovered = await source.current()
    expect(recovered.expiresAt * 1000).toBeGreaterThan(clock())
  })
})

describe('witIssuerSource refuses', () => {
  let wit: WitFixture
  beforeAll(async () => {
    wit = await startWitIssuer()
  })
  afterAll(() => wit.close())

  it('plain-http issuers off loopback and unknown attestation types', () => {
    const attestation = (): string => 'a.b.c'
    expect(() => witIssuerSource({ issuerUrl: 'http://tts.example.org', attestationType: TYPES.kubernetes, attestation })).toThrow(ConfigError)
    expect(() => witIssuerSource({ issuerUrl: wit.url, attestationType: 'x509' as typeof TYPES.kubernetes, attestation })).toThrow(ConfigError)
  })

  it('an issuer refusal as wit_issuer_refused, carrying the error code only', async () => {
    const source = witIssuerSource({ issuerUrl: wit.url, attestationType: TYPES.kubernetes, attestation: () => wit.saToken('kube-system', 'coredns') })
    const error = await Promise.resolve(source.current()).catch((err: unknown) => err)
    expect(error).toBeInstanceOf(MintError)
    expect((error as MintError).reason).toBe('wit_issuer_refused')
    expect((error as MintError).message).toContain('unauthorized_client')
    await source.close?.()
  })

  it('a WIT that is not bound to its own key', async () => {
    // A man in the middle swaps in a WIT issued for another key.
    const other = (await wit.postWit(await wit.request(TYPES.jwtSvid, await wit.svid(REVIEWS)))).body
    const swapping: typeof fetch = async () => new Response(JSON.stringify(other), { status: 200, headers: { 'content-type': 'application/json' } })
    const source = witIssuerSource({ issuerUrl: wit.url, attestationType: TYPES.jwtSvid, attestation: () => wit.svid(REVIEWS), fetch: swapping })
    const error = await Promise.resolve(source.current()).catch((err: unknown) => err)
    expect((error as MintError).reason).toBe('wit_response_invalid')
    await source.close?.()
  })

  it('roles the issuer does not grant (asking is no escalation)', async () => {
    const source = witIssuerSource({ issuerUrl: wit.url, attestationType: TYPES.kubernetes, attestation: () => wit.saToken('reviews', 'reviews'), roles: ['hr-admin'] })
    const error = await Promise.resolve(source.current()).catch((err: unknown) => err)
    expect((error as MintError).reason).toBe('wit_issuer_refused')
    expect((error as MintError).message).toContain('invalid_scope')
    await source.close?.()
  })
})
