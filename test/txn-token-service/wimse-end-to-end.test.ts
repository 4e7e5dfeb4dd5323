/**
 * Both halves of issue 20 together over real HTTP on loopback: the WIT issuer in the Txn-Token
 * Service hands a workload its WIT (`witIssuerSource`), the outbound client signs a WPT per request
 * with it (`createWimseIdentity`), and a callee that trusts only the issuer's published WIT JWKS
 * (`trust.workloadIssuers`, an attribute authority) authorizes the call, with the roles the
 * issuance policy granted and nothing else.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createMeshguardFetch } from '@meshguard/client'
import { createWimseIdentity, witIssuerSource, type WitSource } from '@meshguard/core/wimse'
import { startWitIssuer, TYPES, type WitFixture } from '../../packages/txn-token-service/test/support/wit.js'
import { TRUST_DOMAIN } from '../support/identity.js'
import { startWimseService, type WimseService } from '../support/wimse-service.js'

const REVIEWS = `spiffe://${TRUST_DOMAIN}/ns/reviews/sa/reviews`
const now = (): number => Math.floor(Date.now() / 1000)

let wit: WitFixture
let source: WitSource
let callee: WimseService
let plainCallee: WimseService

beforeAll(async () => {
  wit = await startWitIssuer({}, { lifetime: 600 })
  source = witIssuerSource({
    issuerUrl: wit.url,
    attestationType: TYPES.jwtSvid,
    attestation: () => wit.svid(REVIEWS, { iat: now(), exp: now() + 300 }),
  })
  const issuerTrust = { trustDomain: TRUST_DOMAIN, issuer: wit.url, keys: { jwksUrl: `${wit.url}/.well-known/wit-jwks.json` } }
  callee = await startWimseService((origin) => ({ trust: { workloadIssuers: [{ ...issuerTrust, attributeAuthority: true }] }, wimse: { origins: [origin] } }))
  plainCallee = await startWimseService((origin) => ({ trust: { workloadIssuers: [issuerTrust] }, wimse: { origins: [origin] } }))
})

/** Closes what beforeAll started: it may have failed before starting everything. */
async function closeStarted(started: { close?: (() => void | Promise<void>) | undefined } | undefined): Promise<void> {
  await started?.close?.()
}

afterAll(async () => {
  await closeStarted(source)
  await closeStarted(callee)
  await closeStarted(plainCallee)
  await closeStarted(wit)
})

describe('WIT issuer → client → WIMSE callee', () => {
  it('authorizes the workload by its issued WIT, with the issuer-granted roles only where the issuer is an authority', async () => {
    const identity = createWimseIdentity({ source })
    const fetch = createMeshguardFetch({
      identity,
      destinations: { [callee.url]: 'spiffe://example.org/ns/hr/sa/callee', [plainCallee.url]: 'spiffe://example.org/ns/hr/sa/plain' },
      acting: () => undefined,
    })
    const first = await fetch(`${callee.url}/me`)
    const body = (await first.json()) as { id: string; roles: string[] }
    expect([first.status, body.id]).toEqual([200, REVIEWS])
    // The example issuance policy grants `reviews-reader` to workloads of ns/reviews.
    expect(body.roles).toEqual(['reviews', 'reviews-reader'])
    // Again (a fresh proof, the WIT from the cache), and at a callee that is no authority for roles.
    expect((await fetch(`${callee.url}/me`)).status).toBe(200)
    const plain = await fetch(`${plainCallee.url}/me`)
    expect([plain.status, ((await plain.json()) as { roles: string[] }).roles]).toEqual([200, ['reviews']])
  })
})
