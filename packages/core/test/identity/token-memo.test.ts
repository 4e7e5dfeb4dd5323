import { describe, expect, it } from 'vitest'
import { TokenMemo, tokenKey } from '../../src/identity/verify/token-memo.js'

describe('TokenMemo', () => {
  const token = `header.payload.${'s'.repeat(20)}XYZsignatureEnd0`
  const sameEnd = `header.PAYLOAD.${'s'.repeat(20)}XYZsignatureEnd0`

  it('answers only for the exact token, though tokens with the same end share a key', () => {
    const memo = new TokenMemo<number>(4)
    memo.set(token, 1)
    expect(tokenKey(sameEnd)).toBe(tokenKey(token))
    expect(memo.get(token)).toBe(1)
    expect(memo.get(sameEnd)).toBeUndefined()
    // The look-alike replaces the first: one entry per key.
    memo.set(sameEnd, 2)
    expect(memo.get(sameEnd)).toBe(2)
    expect(memo.get(token)).toBeUndefined()
  })

  it('keeps at most its size, dropping the least recently used', () => {
    const memo = new TokenMemo<number>(2)
    memo.set('a.b.one', 1)
    memo.set('a.b.two', 2)
    expect(memo.get('a.b.one')).toBe(1)
    memo.set('a.b.three', 3)
    expect([memo.get('a.b.one'), memo.get('a.b.two'), memo.get('a.b.three')]).toEqual([1, undefined, 3])
  })
})
