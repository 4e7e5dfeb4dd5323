import { beforeAll, describe, expect, it } from 'vitest'
import { IdentityError, UnavailableError } from '../../src/errors.js'
import { createIdentityVerifier, parseRevocationList, type RevocationQuery } from '../../src/identity/index.js'
import { listRevokes, revocationQuery } from '../../src/identity/verify/revocation.js'
import { configOptionOf, rejectionOf } from '../../../../test/support/failures.js'
import { createIdentityFixture, serviceId, USER_ISSUER, type IdentityFixture } from '../../../../test/support/identity.js'


describe('revocation list documents', () => {
  const query = (claims: Record<string, unknown>): RevocationQuery => revocationQuery('actor', claims)

  it('revokes by jti, sid, sub and issuer, each narrowed by the other fields it names', () => {
    const index = parseRevocationList({
      revoked: [
        { jti: 'j-1' },
        { iss: USER_ISSUER, sid: 's-1' },
        { iss: USER_ISSUER, sub: 'alice', issuedBefore: 1000 },
        { iss: 'https://retired.example' },
      ],
    })
    expect(listRevokes(index, query({ jti: 'j-1', sub: 'anyone' }))).toBe(true)
    expect(listRevokes(index, query({ iss: USER_ISSUER, sid: 's-1' }))).toBe(true)
    expect(listRevokes(index, query({ iss: 'https://other.example', sid: 's-1' }))).toBe(false)
    expect(listRevokes(index, query({ iss: USER_ISSUER, sub: 'alice', iat: 999 }))).toBe(true)
    expect(listRevokes(index, query({ iss: USER_ISSUER, sub: 'alice', iat: 1000 }))).toBe(false)
    expect(listRevokes(index, query({ iss: USER_ISSUER, sub: 'alice' }))).toBe(true)
    expect(listRevokes(index, query({ iss: 'https://retired.example', sub: 'bob' }))).toBe(true)
    expect(listRevokes(index, query({ iss: USER_ISSUER, sub: 'bob', sid: 's-2', jti: 'j-2' }))).toBe(false)
  })

  it('rejects a list it does not fully understand', () => {
    expect(() => parseRevocationList([])).toThrow(/not a JSON object/)
    expect(() => parseRevocationList({})).toThrow(/no "revoked" array/)
    expect(() => parseRevocationList({ revoked: [{}] })).toThrow(/names no iss, sub, sid or jti/)
    expect(() => parseRevocationList({ revoked: [{ sub: 'a', user: 'b' }] })).toThrow(/unknown member "user"/)
    expect(() => parseRevocationList({ revoked: [{ sub: 7 }] })).toThrow(/"sub" has the wrong type/)
    expect(() => parseRevocationList({ revoked: [{ sub: 'a', issuedBefore: '1' }] })).toThrow(/"issuedBefore" has the wrong type/)
    expect(() => parseRevocationList(JSON.parse('{"revoked":[{"__proto__":{"sub":"x"}}]}'))).toThrow(/unknown member "__proto__"/)
    // An inherited "revoked" is not the list's own.
    expect(() => parseRevocationList(Object.create({ revoked: [] }))).toThrow(/no "revoked" array/)
  })
})

describe('revocation check hook', () => {
  let ids: IdentityFixture
  beforeAll(async () => {
    ids = await createIdentityFixture({ services: ['employee-service', 'review-service'] })
  })
  const pair = (actor: 'alice' | 'ed' = 'alice') => ids.headers({ from: 'employee-service', to: 'review-service', actor })

  it('refuses a token the hook revokes, marked with the token it is about', async () => {
    const asked: RevocationQuery[] = []
    const verifier = createIdentityVerifier(
      ids.verifierOptions('review-service', {
        revocation: {
          check: (token) => {
            asked.push(token)
            return token.kind === 'actor' && token.sub === 'alice'
          },
        },
      }),
    )
    const err = await rejectionOf(verifier.verify(await pair('alice')))
    expect(err).toBeInstanceOf(IdentityError)
    expect(err.reason).toBe('token_revoked')
    expect(err.tokenKind).toBe('actor')
    expect(asked.map((q) => [q.kind, q.sub])).toEqual([
      ['workload', serviceId('employee-service')],
      ['actor', 'alice'],
    ])
    expect(asked[1]?.iss).toBe(USER_ISSUER)
    expect((await verifier.verify(await pair('ed'))).actor?.id).toBe('ed')
    expect(verifier.stats().revokedRefused).toBe(1)
  })

  it('reuses an answer for cacheTtlMs only, and cached verifications obey a later revocation', async () => {
    let now = Date.now()
    let revoked = false
    let calls = 0
    const verifier = createIdentityVerifier(
      ids.verifierOptions('review-service', {
        clock: () => now,
        revocation: {
          cacheTtlMs: 5000,
          check: async (token) => {
            calls++
            return revoked && token.kind === 'actor'
          },
        },
      }),
    )
    const headers = await pair()
    await verifier.verify(headers)
    await verifier.verify(headers)
    expect(calls).toBe(2) // workload and actor, once each
    expect(verifier.stats().cacheHits).toBe(1)
    revoked = true
    now += 4999
    await verifier.verify(headers) // inside the bound: the cached answer stands
    now += 1
    const err = await rejectionOf(verifier.verify(headers))
    expect(err.reason).toBe('token_revoked')
    expect(verifier.stats().cacheHits).toBe(3)
  })

  it('fails closed when the hook fails or answers something else than a boolean', async () => {
    const hooks = [
      () => Promise.reject(new Error('revocation service down')),
      () => {
        throw new Error('bug')
      },
      () => 'no' as unknown as boolean,
    ]
    for (const check of hooks) {
      const verifier = createIdentityVerifier(ids.verifierOptions('review-service', { revocation: { check } }))
      const err = await rejectionOf(verifier.verify(await pair()))
      expect(err).toBeInstanceOf(UnavailableError)
      expect(err.reason).toBe('revocation_unavailable')
      expect(err.httpStatus).toBe(503)
    }
  })

  it('refuses unusable options at start-up', () => {
    const optionOf = (revocation: unknown): string => configOptionOf(() => createIdentityVerifier(ids.verifierOptions('review-service', { revocation: revocation as never })))
    expect(optionOf(true)).toBe('identity.revocation')
    expect(optionOf({})).toBe('identity.revocation')
    expect(optionOf({ check: 'yes' })).toBe('identity.revocation.check')
    expect(optionOf({ check: () => false, cacheTtlMs: -1 })).toBe('identity.revocation.cacheTtlMs')
    expect(optionOf({ check: () => false, cacheSize: 1.5 })).toBe('identity.revocation.cacheSize')
    expect(optionOf({ list: { url: 'http://lists.example.org/revoked' } })).toBe('identity.revocation.list.url')
    expect(optionOf({ list: { url: 'https://lists.example.org/revoked', refreshMs: 0 } })).toBe('identity.revocation.list.refreshMs')
    expect(optionOf({ list: { url: 'https://lists.example.org/revoked', refreshMs: 60_000, maxAgeMs: 30_000 } })).toBe('identity.revocation.list.maxAgeMs')
  })
})
