import { describe, expect, it } from 'vitest'
import { RequestError } from '../../src/errors.js'
import { validatePrincipal } from '../../src/engine/request.js'

describe('validatePrincipal reuse', () => {
  it('validates a deep-frozen principal once and hands back the same frozen result', () => {
    const principal = Object.freeze({ id: 'svc', roles: Object.freeze(['a', 'b']), attr: Object.freeze({ x: 1 }) })
    const first = validatePrincipal(principal)
    expect(validatePrincipal(principal)).toBe(first)
    expect(Object.isFrozen(first)).toBe(true)
    expect(first).toMatchObject({ id: 'svc', roles: ['a', 'b'], attr: { x: 1 } })
  })

  it('checks a mutable principal again on every call', () => {
    const principal = { id: 'svc', roles: ['a'], attr: {} }
    expect(validatePrincipal(principal).roles).toEqual(['a'])
    principal.roles.push('a')
    expect(() => validatePrincipal(principal)).toThrow(RequestError)
    principal.roles = ['b']
    expect(validatePrincipal(principal).roles).toEqual(['b'])
  })

  it('never remembers a refusal', () => {
    const principal = Object.freeze({ id: 'svc', roles: Object.freeze([]), attr: Object.freeze({}) })
    expect(() => validatePrincipal(principal)).toThrow(RequestError)
    expect(() => validatePrincipal(principal)).toThrow(RequestError)
  })
})
