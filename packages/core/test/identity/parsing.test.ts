import fc from 'fast-check'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { ConfigError, IdentityError } from '../../src/errors.js'
import { walkActChain, toActClaim } from '../../src/identity/delegation.js'
import { bearerToken, singleHeader } from '../../src/identity/headers.js'
import { toKeyEntry, toKeyMap } from '../../src/identity/trust/jwk.js'
import { Lru } from '../../src/identity/lru.js'
import { createTrustBundle, isSpiffeId, parseSpiffeId } from '../../src/identity/index.js'
import { generateFixtureKey } from '../../../../test/support/identity.js'

const reasonOf = (fn: () => unknown): string => {
  try {
    fn()
  } catch (err) {
    expect(err).toBeInstanceOf(IdentityError)
    return (err as IdentityError).reason
  }
  throw new Error('expected a throw')
}

describe('parseSpiffeId', () => {
  it('accepts well-formed IDs and splits them', () => {
    expect(parseSpiffeId('spiffe://example.org/ns/hr/sa/employee-service')).toEqual({
      id: 'spiffe://example.org/ns/hr/sa/employee-service',
      trustDomain: 'example.org',
      path: '/ns/hr/sa/employee-service',
    })
    expect(parseSpiffeId('spiffe://td', { allowTrustDomainOnly: true }).path).toBe('')
    expect(isSpiffeId('spiffe://a.b-c_d/X.y-z_0')).toBe(true)
  })
  it('rejects everything the standard forbids', () => {
    for (const bad of [42, '', 'spiffe://', 'spiffe:///x', 'https://example.org/x', `spiffe://example.org/${'a'.repeat(2048)}`, `spiffe://${'a'.repeat(256)}/x`, 'spiffe://ex ample/x', 'spiffe://example.org/a/./b']) {
      expect(reasonOf(() => parseSpiffeId(bad))).toBe('invalid_spiffe_id')
    }
    expect(reasonOf(() => parseSpiffeId('spiffe://SECRET/x'))).toBe('invalid_spiffe_id')
    try {
      parseSpiffeId('spiffe://SECRET/x')
    } catch (err) {
      expect(String(err)).not.toContain('SECRET')
    }
  })
})

describe('headers', () => {
  it('reads exactly one value', () => {
    expect(singleHeader({ a: ['x'] }, 'a')).toBe('x')
    expect(singleHeader({ a: [] }, 'a')).toBeUndefined()
    expect(reasonOf(() => singleHeader({ a: 'x, y' }, 'a'))).toBe('duplicate_header')
    expect(bearerToken({ authorization: 'bearer   abc' })).toBe('abc')
    expect(bearerToken({ authorization: '  ' })).toBeUndefined()
    expect(reasonOf(() => bearerToken({ authorization: 'Bearer' }))).toBe('auth_scheme_invalid')
  })
})

describe('delegation chains', () => {
  it('round-trips and walks iteratively with a cap', () => {
    const chain = ['spiffe://td/a', 'spiffe://td/b', 'spiffe://td/c']
    expect(walkActChain(toActClaim(chain), 3, true)).toEqual(chain)
    expect(walkActChain(undefined, 0, true)).toEqual([])
    expect(reasonOf(() => walkActChain(toActClaim(chain), 2, true))).toBe('act_too_deep')
    expect(reasonOf(() => walkActChain({ sub: 'not-spiffe' }, 2, true))).toBe('act_invalid')
    expect(walkActChain({ sub: 'user-x' }, 2, false)).toEqual(['user-x'])
    expect(reasonOf(() => walkActChain([{ sub: 'x' }], 2, false))).toBe('act_invalid')
    expect(toActClaim([])).toBeUndefined()
  })
})

describe('JWKs in bundles', () => {
  it('derives one algorithm family per key and ignores unusable keys', () => {
    const ed = generateFixtureKey('EdDSA', 'ed').publicJwk
    const entry = toKeyEntry(ed)
    expect('ignored' in entry ? [] : [...entry.algorithms]).toEqual(['EdDSA'])
    expect(toKeyEntry({ ...ed, kid: undefined })).toEqual({ ignored: 'kid_missing' })
    expect(toKeyEntry({ ...ed, use: 'enc' })).toEqual({ ignored: 'use_not_sig' })
    expect(toKeyEntry({ ...ed, key_ops: ['sign'] })).toEqual({ ignored: 'key_ops_without_verify' })
    expect(toKeyEntry({ ...ed, d: 'secret' })).toEqual({ ignored: 'private_key_material' })
    expect(toKeyEntry({ kty: 'oct', k: 'c2VjcmV0', kid: 'h' })).toEqual({ ignored: 'private_key_material' })
    expect(toKeyEntry({ kty: 'oct', kid: 'h' })).toEqual({ ignored: 'unsupported_key_type' })
    expect(toKeyEntry({ ...ed, alg: 'ES256' })).toEqual({ ignored: 'unsupported_key_type' })
    const spiffeUse = toKeyEntry({ ...ed, use: 'jwt-svid' })
    expect('kid' in spiffeUse).toBe(true)
    const ignored: string[] = []
    const map = toKeyMap({ keys: [ed, { ...ed }, generateFixtureKey('ES256', 'es').publicJwk] }, (r) => ignored.push(r))
    expect([...map.keys()]).toEqual(['es'])
    expect(ignored).toEqual(['duplicate_kid'])
    expect(() => toKeyMap({ nokeys: [] }, () => undefined)).toThrow(TypeError)
  })

  it('fails fast on unusable trust configuration, naming the option', () => {
    const dir = mkdtempSync(join(tmpdir(), 'mg-jwks-'))
    try {
      writeFileSync(join(dir, 'bad.json'), '{ not json')
      const cases: [unknown, string][] = [
        [{ workloads: [{ issuer: 'spiffe://td/a', keys: { jwksFile: join(dir, 'absent.json') } }] }, 'trust.workloads[0].keys.jwksFile'],
        [{ workloads: [{ issuer: 'spiffe://td/a', keys: { jwksFile: join(dir, 'bad.json') } }] }, 'trust.workloads[0].keys.jwksFile'],
        [{ workloads: [{ issuer: 'spiffe://td/a', keys: { jwksUrl: 'not a url' } }] }, 'trust.workloads[0].keys.jwksUrl'],
        [{ workloads: [{ issuer: 'spiffe://td/a', keys: {} }] }, 'trust.workloads[0].keys'],
        [{ workloads: [{ issuer: 'x', identities: ['spiffe://td/ns/*'], keys: { jwks: { keys: [] } } }] }, 'trust.workloads[0].identities'],
        [{ workloads: [{ issuer: 'spiffe://td/a', typ: [], keys: { jwks: { keys: [] } } }] }, 'trust.workloads[0].typ'],
        [{ workloads: {} }, 'trust.workloads'],
      ]
      for (const [options, option] of cases) {
        const err = (() => {
          try {
            createTrustBundle(options as never)
          } catch (e) {
            return e
          }
          return undefined
        })()
        expect(err).toBeInstanceOf(ConfigError)
        expect((err as ConfigError).option).toBe(option)
      }
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})

describe('SPIFFE bundle documents', () => {
  it('uses the jwt-svid keys of a bundle and skips the others (reported as events)', () => {
    const jwtSvid = { ...generateFixtureKey('ES256', 'jwt-1').publicJwk, use: 'jwt-svid' }
    const x509 = { ...generateFixtureKey('ES256', 'x509-1').publicJwk, use: 'x509-svid', x5c: ['AAAA'] }
    const events: unknown[] = []
    const bundle = createTrustBundle({
      workloads: [{ identities: ['spiffe://example.org/*'], keys: { jwks: { spiffe_refresh_hint: 300, keys: [x509, jwtSvid] } as never } }],
      onEvent: (e) => events.push(e),
    })
    const [anchor] = bundle.workloadAnchors(undefined)
    expect(() => anchor?.keys.getKey('jwt-1')).not.toThrow()
    expect(() => anchor?.keys.getKey('x509-1')).toThrow(IdentityError)
    expect(events).toEqual([{ type: 'jwk_ignored', source: 'inline', reason: 'use_not_sig' }])
  })
})

describe('Lru', () => {
  it('evicts the least recently used entry', () => {
    const lru = new Lru<string, number>(2)
    lru.set('a', 1)
    lru.set('b', 2)
    lru.get('a')
    lru.set('c', 3)
    expect([lru.get('a'), lru.get('b'), lru.get('c'), lru.size]).toEqual([1, undefined, 3, 2])
    const off = new Lru<string, number>(0)
    off.set('a', 1)
    expect(off.get('a')).toBeUndefined()
  })

  it('never evicts an entry read since the last insertion, and drops the oldest when all were read', () => {
    const lru = new Lru<string, number>(3)
    lru.set('hot', -1)
    for (let i = 0; i < 50; i++) {
      expect(lru.get('hot')).toBe(-1)
      lru.set(`k${i}`, i)
    }
    expect([lru.get('hot'), lru.get('k49'), lru.get('k48'), lru.get('k47'), lru.size]).toEqual([-1, 49, 48, undefined, 3])
    const all = new Lru<string, number>(2)
    all.set('a', 1)
    all.set('b', 2)
    all.get('a')
    all.get('b')
    all.set('c', 3)
    expect([all.get('a'), all.get('b'), all.get('c')]).toEqual([undefined, 2, 3])
  })

  it('stays bounded and returns the latest value of every key it keeps', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 5 }),
        fc.array(fc.tuple(fc.boolean(), fc.integer({ min: 0, max: 8 }), fc.integer()), { maxLength: 60 }),
        (max, ops) => {
          const lru = new Lru<number, number>(max)
          const latest = new Map<number, number>()
          for (const [write, key, value] of ops) {
            if (write) {
              lru.set(key, value)
              latest.set(key, value)
              expect(lru.get(key)).toBe(value)
            } else {
              const got = lru.get(key)
              if (got !== undefined) expect(got).toBe(latest.get(key))
            }
            expect(lru.size).toBeLessThanOrEqual(max)
          }
        },
      ),
    )
  })
})

describe('recordTrustEvents', () => {
  it('maps key-set events onto the telemetry counters', async () => {
    const { recordTrustEvents } = await import('../../src/identity/index.js')
    const calls: string[] = []
    const onEvent = recordTrustEvents({
      recordJwksRefresh: (outcome, issuer) => calls.push(`refresh ${outcome} ${issuer}`),
      recordJwksStale: (issuer) => calls.push(`stale ${issuer}`),
    })
    onEvent({ type: 'jwks_fetched', source: 'u', keys: 1, durationMs: 1 })
    onEvent({ type: 'jwks_fetch_failed', source: 'u', error: 'timeout' })
    onEvent({ type: 'jwks_stale_served', source: 'u', ageMs: 1 })
    onEvent({ type: 'jwks_refresh_suppressed', source: 'u' })
    expect(calls).toEqual(['refresh success u', 'refresh failure u', 'stale u'])
  })
})
