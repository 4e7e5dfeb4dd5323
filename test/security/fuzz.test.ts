/**
 * Property-based fuzzing of the token gate and the verifier with mutated tokens and headers:
 * whatever the input, the outcome is a typed MeshguardError, never a crash and never an allow
 * (a mutation the decoder cannot see, e.g. unused bits of the last base64url character, is the
 * only way a token may still verify).
 */
import fc from 'fast-check'
import { beforeAll, describe, expect, it } from 'vitest'
import { IdentityError, MeshguardError } from '../../packages/core/src/errors.js'
import { parseCompactToken } from '../../packages/core/src/identity/verify/compact.js'
import { createIdentityVerifier, parseSpiffeId, type IdentityVerifier } from '../../packages/core/src/identity/index.js'
import { createIdentityFixture, type IdentityFixture } from '../support/identity.js'
import { mutation, sameJws } from '../support/token-mutations.js'

describe('fuzzing', () => {
  let ids: IdentityFixture
  let verifier: IdentityVerifier
  let workload: string
  let actor: string
  let bound: string
  beforeAll(async () => {
    ids = await createIdentityFixture({ services: ['caller', 'callee'] })
    verifier = createIdentityVerifier(ids.verifierOptions('callee', { cacheSize: 0 }))
    actor = await ids.mintActorToken('alice')
    workload = await ids.mintWorkloadToken('caller', { audience: 'callee' })
    bound = await ids.mintWorkloadToken('caller', { audience: 'callee', actorToken: actor })
  })

  it('the compact-token gate only ever throws IdentityError', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string({ maxLength: 300 }), fc.stringMatching(/^[A-Za-z0-9_.-]{0,200}$/)), (input) => {
        try {
          parseCompactToken(input, 8192)
        } catch (err) {
          expect(err).toBeInstanceOf(IdentityError)
        }
      }),
      { numRuns: 2000 },
    )
  })

  it('the SPIFFE ID parser only ever throws IdentityError', () => {
    const candidates = fc.oneof(
      fc.string(),
      fc.string().map((s) => `spiffe://${s}`),
      fc.stringMatching(/^spiffe:\/\/[a-zA-Z0-9.%:@_-]{0,20}(\/[a-zA-Z0-9.%_-]{0,8}){0,4}\/?$/),
    )
    fc.assert(
      fc.property(candidates, (input) => {
        try {
          const id = parseSpiffeId(input)
          expect(id.id).toBe(input)
          expect(id.trustDomain).toMatch(/^[a-z0-9._-]+$/)
          expect(id.path).toMatch(/^(\/[A-Za-z0-9._-]+)+$/)
          expect(id.path.split('/')).not.toContain('..')
        } catch (err) {
          expect(err).toBeInstanceOf(IdentityError)
        }
      }),
      { numRuns: 1000 },
    )
  })

  it('a mutated workload token is never allowed', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(mutation, { minLength: 1, maxLength: 3 }), async (mutations) => {
        const mutated = mutations.reduce((t, m) => (t.length > 0 ? m(t) : t), workload)
        const outcome = await verifier.verify({ authorization: `Bearer ${mutated}` }).then(
          () => 'allowed',
          (err: unknown) => err,
        )
        if (outcome === 'allowed') expect(sameJws(workload, mutated)).toBe(true)
        else expect(outcome).toBeInstanceOf(MeshguardError)
      }),
      { numRuns: 400 },
    )
  })

  it('a mutated actor token is never allowed next to a valid bound workload token', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(mutation, { minLength: 1, maxLength: 2 }), async (mutations) => {
        const mutated = mutations.reduce((t, m) => (t.length > 0 ? m(t) : t), actor)
        fc.pre(mutated !== actor)
        const outcome = await verifier.verify({ authorization: `Bearer ${bound}`, 'x-meshguard-actor': mutated }).then(
          () => 'allowed',
          (err: unknown) => err,
        )
        // The binding hashes the exact actor token, so even an invisible mutation is refused.
        expect(outcome).not.toBe('allowed')
        expect(outcome).toBeInstanceOf(MeshguardError)
      }),
      { numRuns: 300 },
    )
  })

  it('validly signed tokens with arbitrary claims are either rejected with a reason or satisfy every check', async () => {
    const claim = fc.oneof(fc.jsonValue(), fc.constant(undefined), fc.integer(), fc.string({ maxLength: 20 }))
    const nowS = (): number => Math.floor(Date.now() / 1000)
    await fc.assert(
      fc.asyncProperty(
        fc.record(
          {
            sub: fc.oneof(claim, fc.constant(ids.services['caller']?.id), fc.constant('spiffe://example.org/ns/default/sa/caller/')),
            aud: fc.oneof(claim, fc.constant(ids.services['callee']?.id), fc.constant([ids.services['callee']?.id, 'x'])),
            exp: fc.oneof(claim, fc.integer({ min: -1000, max: 100_000 }).map((d) => nowS() + d)),
            iat: fc.oneof(claim, fc.integer({ min: -100_000, max: 1000 }).map((d) => nowS() + d)),
            nbf: claim,
            act: fc.oneof(claim, fc.constant({ sub: 'spiffe://example.org/x' }), fc.constant({ sub: 'spiffe://example.org/x', act: 'y' })),
            roles: claim,
            txn: claim,
          },
          { requiredKeys: [] },
        ),
        async (overrides) => {
          const token = await ids.mintWorkloadToken('caller', { audience: 'callee', claims: overrides })
          const outcome = await verifier.verify({ authorization: `Bearer ${token}` }).then(
            (caller) => caller,
            (err: unknown) => err,
          )
          if (outcome instanceof Error) {
            expect(outcome).toBeInstanceOf(MeshguardError)
            return
          }
          // Allowed: then every rule really held.
          const claims = (outcome as { workload: { claims: Record<string, unknown> } }).workload.claims
          expect(claims['sub']).toBe(ids.services['caller']?.id)
          const aud = claims['aud']
          const firstAud: unknown = Array.isArray(aud) ? aud[0] : undefined
          expect([aud, firstAud]).toContain(ids.services['callee']?.id)
          expect(typeof claims['exp'] === 'number' && claims['exp'] > nowS() - 31).toBe(true)
        },
      ),
      { numRuns: 300 },
    )
  })

  it('arbitrary header views never crash the verifier', async () => {
    const value = fc.oneof(fc.string({ maxLength: 100 }), fc.array(fc.string({ maxLength: 50 }), { maxLength: 3 }), fc.constant(undefined))
    await fc.assert(
      fc.asyncProperty(
        fc.record({ authorization: value, 'x-meshguard-actor': value, 'x-meshguard-txn': value }, { requiredKeys: [] }),
        async (headers) => {
          const outcome = await verifier.verify(headers as never).then(
            () => 'allowed',
            (err: unknown) => err,
          )
          expect(outcome).toBeInstanceOf(MeshguardError)
        },
      ),
      { numRuns: 500 },
    )
  })
})
