import { describe, expect, it } from 'vitest'
import { VerificationCache } from '../../src/identity/verify/verification-cache.js'

describe('VerificationCache admission', () => {
  it('keeps a first sighting on probation and serves its repeat', () => {
    const cache = new VerificationCache<string>(10_000)
    cache.set(7, 'a')
    expect(cache.get(7)).toBe('a')
    expect(cache.get(7)).toBe('a')
    expect(cache.size).toBe(1)
  })

  it('lets one-shot entries pass through probation without evicting the main cache', () => {
    const cache = new VerificationCache<string>(10_000)
    cache.set(1, 'hot')
    cache.get(1) // a repeat: now in the main cache
    for (let key = 100; key < 5_100; key++) cache.set(key, `once-${key}`)
    expect(cache.get(1)).toBe('hot')
    // Probation holds only the newest first sightings.
    expect(cache.get(100)).toBeUndefined()
    expect(cache.get(5_099)).toBe('once-5099')
    expect(cache.size).toBeLessThanOrEqual(1 + 256)
  })

  it('admits a key seen before straight into the main cache once it left probation', () => {
    const cache = new VerificationCache<string>(10_000)
    cache.set(42, 'first')
    for (let key = 1_000; key < 1_300; key++) cache.set(key, 'noise')
    expect(cache.get(42)).toBeUndefined()
    cache.set(42, 'second') // the verifier verified it again: it has repeated
    for (let key = 2_000; key < 2_600; key++) cache.set(key, 'noise')
    expect(cache.get(42)).toBe('second')
  })

  it('replaces an entry in place and forgets deleted ones', () => {
    const cache = new VerificationCache<string>(10)
    cache.set(3, 'a')
    cache.get(3)
    cache.set(3, 'b')
    expect(cache.get(3)).toBe('b')
    cache.delete(3)
    expect(cache.get(3)).toBeUndefined()
  })

  it('never stores anything with size 0', () => {
    const cache = new VerificationCache<string>(0)
    cache.set(0, 'a')
    cache.set(0, 'a')
    expect(cache.get(0)).toBeUndefined()
    expect(cache.size).toBe(0)
  })
})
