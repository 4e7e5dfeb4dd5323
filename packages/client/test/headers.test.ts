import { RequestError } from '@meshguard/core'
import { describe, expect, it } from 'vitest'

import { copyHeaders } from '../src/headers.js'

const drop = new Set(['x-meshguard-actor'])

describe('copyHeaders', () => {
  it('accepts every header form undici accepts and lower-cases names', () => {
    const expected = { accept: 'text/plain', 'x-two': ['a', 'b'] }
    expect(copyHeaders({ Accept: 'text/plain', 'X-Two': ['a', 'b'] }, drop)).toEqual(expected)
    expect(copyHeaders(['Accept', 'text/plain', 'X-Two', 'a', 'x-two', 'b'], drop)).toEqual(expected)
    expect(copyHeaders(new Map<string, string | string[]>([['Accept', 'text/plain'], ['X-Two', ['a', 'b']]]), drop)).toEqual(expected)
    expect(copyHeaders(undefined, drop)).toEqual({})
    expect(copyHeaders(null, drop)).toEqual({})
  })

  it('drops the listed names in any case and skips undefined values', () => {
    expect(copyHeaders({ 'X-Meshguard-Actor': 'user-token', keep: 'yes', gone: undefined }, drop)).toEqual({ keep: 'yes' })
    expect(copyHeaders(['X-MESHGUARD-ACTOR', 'user-token'], drop)).toEqual({})
  })

  it('rejects shapes undici would reject', () => {
    expect(() => copyHeaders(['lonely'], drop)).toThrow(RequestError)
    expect(() => copyHeaders([['a', 'b', 'c']] as unknown as Iterable<[string, string]>, drop)).toThrow(
      expect.objectContaining({ reason: 'headers_malformed' }),
    )
  })
})
