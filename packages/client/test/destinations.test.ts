import { ConfigError } from '@meshguard/core'
import { describe, expect, it } from 'vitest'

import { canonicalOrigin, compileDestinations } from '../src/destinations.js'

describe('canonicalOrigin', () => {
  it('lower-cases scheme and host and drops the default port', () => {
    expect(canonicalOrigin('HTTP://Reviews.Internal:80/x?y')).toBe('http://reviews.internal')
    expect(canonicalOrigin(new URL('https://a.internal:443'))).toBe('https://a.internal')
    expect(canonicalOrigin('http://127.0.0.1:8080')).toBe('http://127.0.0.1:8080')
  })

  it('returns undefined for non-http schemes and garbage', () => {
    expect(canonicalOrigin('ftp://a.internal')).toBeUndefined()
    expect(canonicalOrigin('not a url')).toBeUndefined()
    expect(canonicalOrigin('/relative/path')).toBeUndefined()
  })
})

describe('compileDestinations', () => {
  it('looks callees up by canonical origin, from a record or a Map', () => {
    const fromRecord = compileDestinations({ 'HTTP://B.internal:80': 'spiffe://acme/b', 'https://c.internal:8443/': { audience: 'spiffe://acme/c' } })
    expect(fromRecord.lookup('http://b.internal')).toEqual({ audience: 'spiffe://acme/b' })
    expect(fromRecord.lookup('https://c.internal:8443')).toEqual({ audience: 'spiffe://acme/c' })
    expect(fromRecord.lookup('https://c.internal')).toBeUndefined()
    expect(fromRecord.lookup('http://b.internal:8080')).toBeUndefined()
    const fromMap = compileDestinations(new Map([['http://127.0.0.1:1234', 'aud-x']]))
    expect(fromMap.lookup('http://127.0.0.1:1234')?.audience).toBe('aud-x')
  })

  it.each([
    ['http://b.internal/path', 'destinations["http://b.internal/path"]'],
    ['http://b.internal?q=1', 'destinations["http://b.internal?q=1"]'],
    ['http://user:pw@b.internal', 'destinations["http://user:pw@b.internal"]'],
    ['ws://b.internal', 'destinations["ws://b.internal"]'],
    ['b.internal', 'destinations["b.internal"]'],
  ])('rejects the key %s as not a bare origin', (key, option) => {
    const attempt = (): unknown => compileDestinations({ [key]: 'aud' })
    expect(attempt).toThrow(ConfigError)
    expect(attempt).toThrow(expect.objectContaining({ option, code: 'ERR_AUTHZ_INVALID_CONFIG' }))
  })

  it('rejects two keys naming the same origin', () => {
    expect(() => compileDestinations({ 'http://b.internal': 'one', 'http://B.internal:80': 'two' })).toThrow(/mapped twice/)
  })

  it.each([[''], [' padded '], [{}], [{ audience: 7 }], [null]])('rejects the audience %j', (value) => {
    expect(() => compileDestinations({ 'http://b.internal': value as never })).toThrow(
      expect.objectContaining({ option: 'destinations["http://b.internal"].audience' }),
    )
  })
})
