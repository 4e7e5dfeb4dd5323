/**
 * The WIT cache rule, as a property: a verifier that caches verified WITs and one that does not
 * (`witCacheSize: 0`), sharing one trust bundle, give the same answer to every request. Random WITs
 * (two issuer keys, lifetimes inside and past the skew), a clock that moves forward, and an issuer
 * key set that changes under both (a JWKS file rewritten with one key, both, or none).
 */
import { mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import fc from 'fast-check'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { MeshguardError } from '../../packages/core/src/errors.js'
import { createIdentityVerifier, createTrustBundle, type IdentityVerifier } from '../../packages/core/src/identity/index.js'
import { generateFixtureKey, type FixtureKey } from '../support/identity.js'
import { createWimseFixture, rawWpt, wimseHeaders, type WimseFixture } from '../support/wimse.js'

const ORIGIN = 'https://callee.example.org'
const AUD = `${ORIGIN}/x`

let dir: string
let fx: WimseFixture
const issuerKeys: FixtureKey[] = []

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'mg-wit-cache-'))
  fx = createWimseFixture()
  issuerKeys.push(generateFixtureKey('ES256', 'i1'), generateFixtureKey('ES256', 'i2'))
})
afterAll(() => rmSync(dir, { recursive: true, force: true }))

type Step = { kind: 'request'; wit: number } | { kind: 'advance'; seconds: number } | { kind: 'keys'; present: [boolean, boolean] }

const step: fc.Arbitrary<Step> = fc.oneof(
  { weight: 5, arbitrary: fc.record({ kind: fc.constant('request' as const), wit: fc.nat(5) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('advance' as const), seconds: fc.integer({ min: 1, max: 90 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('keys' as const), present: fc.tuple(fc.boolean(), fc.boolean()) }) },
)

async function answer(verifier: IdentityVerifier, headers: Record<string, string>): Promise<string> {
  return verifier.verify(headers, { target: '/x' }).then(
    (caller) => `ok:${caller.workload.id}`,
    (err: unknown) => (err instanceof MeshguardError ? err.reason : `crash:${String(err)}`),
  )
}

describe('the WIT cache', () => {
  it('never answers other than a fresh verification', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.integer({ min: -40, max: 200 }), { minLength: 6, maxLength: 6 }), fc.array(step, { minLength: 1, maxLength: 25 }), async (lifetimes, steps) => {
        const start = Date.now()
        let now = start
        const file = join(dir, `jwks-${start}-${Math.random().toString(36).slice(2)}.json`)
        let version = 0
        const writeKeys = (present: readonly boolean[]): void => {
          writeFileSync(file, JSON.stringify({ keys: issuerKeys.filter((_, i) => present[i]).map((k) => k.publicJwk) }))
          version += 10
          utimesSync(file, start / 1000 + version, start / 1000 + version)
        }
        writeKeys([true, true])
        const trust = createTrustBundle({ workloadIssuers: [fx.trust({ keys: { jwksFile: file } })], clock: () => now })
        const options = { trust, signatureCheck: 'inline' as const, clock: () => now, replay: { store: { consume: () => true } } }
        const cached = createIdentityVerifier({ ...options, wimse: { origins: [ORIGIN] } })
        const fresh = createIdentityVerifier({ ...options, wimse: { origins: [ORIGIN], witCacheSize: 0 } })
        const credentials = await Promise.all(lifetimes.map((lifetime, i) => fx.credential(`w${i}`, { lifetime, signWith: issuerKeys[i % 2] })))
        for (const s of steps) {
          if (s.kind === 'advance') now += s.seconds * 1000
          else if (s.kind === 'keys') {
            writeKeys(s.present)
            // The file store re-reads at most once a second.
            now += 1500
          } else {
            const cred = credentials[s.wit] as (typeof credentials)[number]
            // A proof valid at the controlled clock, so only the WIT and its keys decide.
            const wpt = await rawWpt(cred, { aud: AUD, claims: { exp: Math.floor(now / 1000) + 30 } })
            const headers = wimseHeaders(cred, wpt)
            const [a, b] = [await answer(cached, headers), await answer(fresh, headers)]
            expect(a).toBe(b)
            expect(a).not.toMatch(/^crash/)
          }
        }
      }),
      { numRuns: 40 },
    )
  })
})
