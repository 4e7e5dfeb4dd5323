import { describe, expect, it } from 'vitest'
import { newRequestId } from '../src/internal/request-id.js'

const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/

describe('newRequestId', () => {
  // 1000 ids cross several batches of 128, so refills are covered.
  const ids = Array.from({ length: 1000 }, () => newRequestId())

  it('gives RFC 9562 version 4 UUIDs in lower case', () => {
    for (const id of ids) expect(id).toMatch(UUID_V4)
  })

  it('never repeats an id', () => {
    expect(new Set(ids).size).toBe(ids.length)
  })

  it('draws every free hex digit from the whole range, the variant digit from 8–b only', () => {
    const seen = Array.from({ length: 36 }, () => new Set<string>())
    for (const id of ids) id.split('').forEach((char, at) => seen[at]?.add(char))
    seen.forEach((chars, at) => {
      if ([8, 13, 18, 23].includes(at)) expect([...chars], `position ${at}`).toEqual(['-'])
      else if (at === 14) expect([...chars], 'version').toEqual(['4'])
      else if (at === 19) expect([...chars].sort(), 'variant').toEqual(['8', '9', 'a', 'b'])
      // 1000 draws of 16 values: a missing digit would mean a broken position (chance ≈ 16·(15/16)^1000).
      else expect(chars.size, `position ${at}`).toBe(16)
    })
  })
})
