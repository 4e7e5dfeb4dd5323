/**
 * Keys named `__proto__`, `constructor` or `prototype` in attributes, actions, aux data or outputs
 * are inert data, and conditions read own properties only: nothing inherited reaches a decision.
 */
import { describe, expect, it } from 'vitest'
import { EmbeddedEngine } from '../../src/engine/embedded-engine.js'
import type { Principal } from '../../src/types.js'

const policy = (expr: string): string => `apiVersion: api.cerbos.dev/v1
resourcePolicy:
  version: default
  resource: doc
  rules:
    - actions: ['read']
      effect: EFFECT_ALLOW
      roles: ['*']
      condition:
        match:
          expr: '${expr.replace(/'/g, "''")}'
      output:
        when:
          ruleActivated: request.resource.attr
`

function decide(expr: string, principal: Principal, resourceAttr: Record<string, unknown> = {}, rememberDecisions = true): string {
  const engine = EmbeddedEngine.fromSources([{ file: 'doc.yaml', text: policy(expr) }], { rememberDecisions })
  const [output] = engine.checkInputs([{ principal, resource: { kind: 'doc', id: 'd1', attr: resourceAttr }, actions: ['read'] }])
  return output?.actions['read']?.effect ?? 'missing'
}

const inherited = Object.create({ admin: true, roles: ['root'] }) as Record<string, unknown>
const fromJson = JSON.parse('{"__proto__": {"admin": true}, "prototype": {"admin": true}, "team": "a"}') as Record<string, unknown>
const withConstructor = JSON.parse('{"constructor": {"admin": true}, "team": "a"}') as Record<string, unknown>

describe('own properties only', () => {
  for (const remember of [true, false]) {
    describe(remember ? 'with the decision memo' : 'evaluating every time', () => {
      it('does not see inherited attribute values', () => {
        const principal = { id: 'p', roles: ['user'], attr: inherited }
        expect(decide('request.principal.attr.admin == true', principal, {}, remember)).toBe('EFFECT_DENY')
        expect(decide('has(request.principal.attr.admin)', principal, {}, remember)).toBe('EFFECT_DENY')
        expect(decide('"admin" in request.principal.attr', principal, {}, remember)).toBe('EFFECT_DENY')
      })

      it('sees no Object.prototype members as attributes', () => {
        const principal = { id: 'p', roles: ['user'], attr: { team: 'a' } }
        for (const name of ['constructor', 'toString', 'hasOwnProperty', '__proto__', 'valueOf']) {
          expect(decide(`has(request.principal.attr.${name})`, principal, {}, remember), name).toBe('EFFECT_DENY')
          expect(decide(`"${name}" in request.principal.attr`, principal, {}, remember), name).toBe('EFFECT_DENY')
        }
      })

      it('reads a JSON key named __proto__ as plain data, never as a prototype', () => {
        const principal = { id: 'p', roles: ['user'], attr: fromJson }
        expect(decide('request.principal.attr.admin == true', principal, {}, remember)).toBe('EFFECT_DENY')
        expect(decide('has(request.principal.attr.admin)', principal, {}, remember)).toBe('EFFECT_DENY')
        expect(decide('request.principal.attr.team == "a"', principal, {}, remember)).toBe('EFFECT_ALLOW')
      })

      it('fails closed on a map with a key named constructor (the CEL library cannot type it)', () => {
        const principal = { id: 'p', roles: ['user'], attr: withConstructor }
        expect(decide('request.principal.attr.team == "a"', principal, {}, remember)).toBe('EFFECT_DENY')
        expect(decide('request.principal.attr.constructor.admin == true', principal, {}, remember)).toBe('EFFECT_DENY')
      })
    })
  }

  it('keeps an action named __proto__ as an own result entry', () => {
    const engine = EmbeddedEngine.fromSources([{ file: 'doc.yaml', text: policy('true') }])
    const response = engine.checkInputs([{ principal: { id: 'p', roles: ['user'] }, resource: { kind: 'doc', id: 'd', attr: {} }, actions: ['__proto__', 'read'] }])
    const actions = response[0]?.actions ?? {}
    expect(Object.getPrototypeOf(actions)).toBe(Object.prototype)
    expect(Object.keys(actions)).toEqual(['__proto__', 'read'])
    expect(Object.getOwnPropertyDescriptor(actions, '__proto__')?.value).toMatchObject({ effect: 'EFFECT_DENY' })
  })

  it('copies an attribute named __proto__ into outputs as data', () => {
    const engine = EmbeddedEngine.fromSources([{ file: 'doc.yaml', text: policy('true') }])
    const [output] = engine.checkInputs([{ principal: { id: 'p', roles: ['user'] }, resource: { kind: 'doc', id: 'd', attr: fromJson }, actions: ['read'] }])
    const value = output?.outputs[0]?.val as Record<string, unknown>
    expect(Object.getPrototypeOf(value)).toBe(Object.prototype)
    expect(Object.keys(value)).toContain('__proto__')
    expect((value as { admin?: unknown }).admin).toBeUndefined()
  })
})
