/**
 * Property-based fuzzing of the two WIMSE token parsers (the WIT and the WPT checks) through the
 * verifier: whatever the input, the outcome is a typed MeshguardError with a WIMSE reason (or a
 * header-shape reason), never a crash and never an allow (a mutation the decoder cannot see is the
 * only way a token may still verify; a WIT mutation always breaks the proof's `wth`).
 */
import fc from 'fast-check'
import { beforeAll, describe, expect, it } from 'vitest'
import { MeshguardError } from '../../packages/core/src/errors.js'
import { createIdentityVerifier, type IdentityVerifier } from '../../packages/core/src/identity/index.js'
import { createWimseFixture, rawWpt, type WimseFixture } from '../support/wimse.js'
import { mutation, sameJws } from '../support/token-mutations.js'
import { sign } from '../support/identity.js'

const ORIGIN = 'https://reviews.example.org'
const AUD = `${ORIGIN}/me`
const REASONS = /^(wit_|wpt_|duplicate_header$|token_missing$|token_too_large$|token_malformed$)/

let fx: WimseFixture
let verifier: IdentityVerifier
let cred: Awaited<ReturnType<WimseFixture['credential']>>

beforeAll(async () => {
  fx = createWimseFixture()
  // No replay store in the way: a valid proof may be presented many times here.
  verifier = createIdentityVerifier({
    trust: { workloadIssuers: [fx.trust()] },
    wimse: { origins: [ORIGIN], witCacheSize: 0 },
    replay: { store: { consume: () => true } },
    signatureCheck: 'inline',
  })
  cred = await fx.credential('orders')
})

async function outcome(wit: string, wpt: string): Promise<unknown> {
  return verifier.verify({ 'workload-identity-token': wit, authorization: `WPT ${wpt}` }, { target: '/me' }).then(
    () => 'allowed',
    (err: unknown) => err,
  )
}

function refused(result: unknown): void {
  expect(result).toBeInstanceOf(MeshguardError)
  expect((result as MeshguardError).reason).toMatch(REASONS)
}

describe('WIMSE fuzzing', () => {
  it('a mutated WIT is never allowed', async () => {
    const wpt = await rawWpt(cred, { aud: AUD, lifetime: 60 })
    expect(await outcome(cred.wit, wpt)).toBe('allowed')
    await fc.assert(
      fc.asyncProperty(fc.array(mutation, { minLength: 1, maxLength: 3 }), async (mutations) => {
        const mutated = mutations.reduce((t, m) => (t.length > 0 ? m(t) : t), cred.wit)
        fc.pre(mutated.trim() !== cred.wit)
        // `wth` hashes the WIT as sent: even a change the JWS decoder cannot see breaks the binding.
        const result = await outcome(mutated, wpt)
        expect(result).not.toBe('allowed')
        expect(result).toBeInstanceOf(MeshguardError)
      }),
      { numRuns: 300 },
    )
  })

  it('a mutated WPT is never allowed', async () => {
    const wpt = await rawWpt(cred, { aud: AUD, lifetime: 60 })
    await fc.assert(
      fc.asyncProperty(fc.array(mutation, { minLength: 1, maxLength: 3 }), async (mutations) => {
        const mutated = mutations.reduce((t, m) => (t.length > 0 ? m(t) : t), wpt)
        const result = await outcome(cred.wit, mutated)
        if (result === 'allowed') expect(sameJws(wpt, mutated)).toBe(true)
        else refused(result)
      }),
      { numRuns: 300 },
    )
  })

  it('arbitrary header values only ever give a typed refusal', async () => {
    await fc.assert(
      fc.asyncProperty(fc.string({ maxLength: 200 }), fc.string({ maxLength: 200 }), async (wit, wpt) => {
        refused(await outcome(wit, wpt))
      }),
      { numRuns: 300 },
    )
  })

  it('a validly signed WPT with arbitrary claims is refused with a reason, or really satisfies every check', async () => {
    const now = Math.floor(Date.now() / 1000)
    const value = fc.oneof(fc.string({ maxLength: 20 }), fc.integer(), fc.constant(null), fc.constant(AUD), fc.constant(now + 30), fc.array(fc.string(), { maxLength: 2 }))
    const claims = fc.record({ aud: value, exp: value, jti: value, wth: fc.oneof(value, fc.constant('WTH')), tth: fc.option(value, { nil: undefined }), oth: fc.option(fc.dictionary(fc.string({ maxLength: 5 }), value, { maxKeys: 2 }), { nil: undefined }) }, { requiredKeys: [] })
    const key = { kid: 'proof', alg: 'ES256' as const, privateKey: cred.privateKey, publicKey: cred.privateKey, publicJwk: { kty: 'EC' } }
    const wth = (await rawWpt(cred, { aud: AUD })).split('.')[1] as string
    const realWth = (JSON.parse(Buffer.from(wth, 'base64url').toString()) as { wth: string }).wth
    await fc.assert(
      fc.asyncProperty(claims, async (raw) => {
        const body = { ...raw, ...(raw.wth === 'WTH' ? { wth: realWth } : {}) }
        const wpt = await sign(key, { alg: 'ES256', typ: 'wpt+jwt' }, body)
        const result = await outcome(cred.wit, wpt)
        if (result !== 'allowed') {
          refused(result)
          return
        }
        expect(body.aud).toBe(AUD)
        expect(typeof body.exp === 'number' && body.exp > now - 30 && body.exp <= now + 90).toBe(true)
        expect(typeof body.jti === 'string' && body.jti.length > 0).toBe(true)
        expect(body.wth).toBe(realWth)
        expect(body.tth).toBeUndefined()
        expect(body.oth === undefined || Object.keys(body.oth).length === 0).toBe(true)
      }),
      { numRuns: 400 },
    )
  })
})
