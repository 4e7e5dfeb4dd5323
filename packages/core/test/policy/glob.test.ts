import { describe, expect, it } from 'vitest'
import { compileGlob, matchesGlob } from '../../src/policy/glob.js'

describe('Cerbos globs (gobwas, `:` separator)', () => {
  it.each([
    ['*', 'anything:at:all', true],
    ['view:*', 'view:public', true],
    ['view:*', 'view', false],
    ['view:*', 'view:a:b', false],
    ['view:**', 'view:a:b', true],
    ['a:*:d', 'a:x:d', true],
    ['a:*:d', 'a:x:y:d', false],
    ['v?ew', 'view', true],
    ['v?ew', 'v:ew', false],
    ['[abc]at', 'bat', true],
    ['[!abc]at', 'bat', false],
    ['{read,write}:doc', 'write:doc', true],
    ['{read,write}:doc', 'delete:doc', false],
    ['exact', 'exact', true],
    ['a.b', 'axb', false],
    ['\\*', '*', true],
  ])('%s matches %s: %s', (glob, value, expected) => {
    expect(matchesGlob(glob, value)).toBe(expected)
  })

  it('treats a malformed glob as matching nothing', () => {
    expect(compileGlob('[unclosed')('[unclosed')).toBe(false)
    expect(compileGlob('{a,b')('a')).toBe(false)
  })
})
