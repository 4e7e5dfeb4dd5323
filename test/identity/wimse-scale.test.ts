/**
 * A WIMSE callee's trust configuration does not grow with its callers: one issuer key set serves any
 * number of workloads, and what the callee keeps per caller (verified WITs) is bounded by
 * `witCacheSize`. The self-signed profile, for contrast, needs one anchor per caller. Sizes and
 * counts only; the timings are bench/wimse.mjs's.
 */
import { generateKeyPairSync } from 'node:crypto'
import { beforeAll, describe, expect, it } from 'vitest'
import { createIdentityVerifier, type TrustBundleOptions } from '../../packages/core/src/identity/index.js'
import { createWimseFixture, rawWpt, wimseHeaders, type WimseFixture } from '../support/wimse.js'

const ORIGIN = 'https://callee.example.org'
let fx: WimseFixture

beforeAll(() => {
  fx = createWimseFixture()
})

function selfSignedTrust(callers: number): TrustBundleOptions {
  return {
    workloads: Array.from({ length: callers }, (_, i) => {
      const jwk = { ...(generateKeyPairSync('ed25519').publicKey.export({ format: 'jwk' }) as Record<string, unknown>), kid: `w${i}`, alg: 'EdDSA' }
      return { issuer: `spiffe://example.org/ns/default/sa/w${i}`, keys: { jwks: { keys: [jwk as never] } } }
    }),
  }
}

describe('callee trust at scale', () => {
  it('serves 1 and then 120 distinct callers with the same, constant trust configuration', async () => {
    const trust: TrustBundleOptions = { workloadIssuers: [fx.trust()] }
    const before = JSON.stringify(trust)
    const verifier = createIdentityVerifier({ trust, wimse: { origins: [ORIGIN], witCacheSize: 16 }, signatureCheck: 'inline' })
    const serve = async (name: string): Promise<void> => {
      const cred = await fx.credential(name)
      expect((await verifier.verify(wimseHeaders(cred, await rawWpt(cred, { aud: `${ORIGIN}/x` })), { target: '/x' })).workload.id).toBe(cred.sub)
    }
    await serve('w0')
    const sizeWithOne = JSON.stringify(trust).length
    for (let i = 1; i <= 120; i++) await serve(`w${i}`)
    expect(JSON.stringify(trust)).toBe(before)
    expect(JSON.stringify(trust).length).toBe(sizeWithOne)
    // Per-caller state is a bounded cache, not configuration.
    expect(verifier.stats()).toMatchObject({ witCacheMisses: 121, witCacheSize: 16 })
  })

  it('the self-signed profile, by contrast, needs one anchor per caller', () => {
    const one = JSON.stringify(selfSignedTrust(1)).length
    const many = JSON.stringify(selfSignedTrust(100)).length
    expect(many).toBeGreaterThan(90 * one)
    expect(JSON.stringify({ workloadIssuers: [fx.trust()] }).length).toBeLessThan(2 * one)
  })
})
