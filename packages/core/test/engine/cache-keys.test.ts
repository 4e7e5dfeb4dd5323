/**
 * The engine's memos answer exactly what a fresh engine answers, whatever characters a request's
 * kind, action, id or roles hold: keys built from several strings must never merge two requests
 * (a NUL inside a kind or an action once made one request's remembered answer serve another).
 */
import { describe, expect, it } from 'vitest'
import { EmbeddedEngine } from '../../src/engine/embedded-engine.js'
import type { Principal } from '../../src/types.js'

const doc = (text: string, file: string) => ({ file, text })

const RESOURCE_A = doc(`apiVersion: api.cerbos.dev/v1
resourcePolicy:
  version: default
  resource: a
  rules:
    - actions: ['b\\u0000c']
      effect: EFFECT_ALLOW
      roles: ['*']
`, 'a.yaml')

const PRINCIPAL_P = doc(`apiVersion: api.cerbos.dev/v1
principalPolicy:
  version: default
  principal: p
  rules:
    - resource: '*'
      actions:
        - action: read
          effect: EFFECT_ALLOW
`, 'p.yaml')

const DERIVED = doc(`apiVersion: api.cerbos.dev/v1
derivedRoles:
  name: drs
  definitions:
    - name: dr
      parentRoles: [a]
`, 'drs.yaml')

const DOC = doc(`apiVersion: api.cerbos.dev/v1
resourcePolicy:
  version: default
  resource: doc
  importDerivedRoles: [drs]
  rules:
    - actions: [read]
      effect: EFFECT_ALLOW
      roles: ['*']
      condition:
        match:
          expr: '"dr" in runtime.effectiveDerivedRoles'
`, 'doc.yaml')

const sources = [RESOURCE_A, PRINCIPAL_P, DERIVED, DOC]

function check(engine: EmbeddedEngine, principal: Principal, kind: string, action: string): unknown {
  return engine.checkResourcesSync({ principal, includeMeta: true, resources: [{ resource: { kind, id: '1' }, actions: [action] }] }).results
}

/** Runs `warm-up` checks on one engine, then `probe` on it and on a fresh engine: the answers must be equal. */
function agree(warmUp: [Principal, string, string][], probe: [Principal, string, string]): void {
  const warm = EmbeddedEngine.fromSources(sources)
  for (const [principal, kind, action] of warmUp) check(warm, principal, kind, action)
  expect(check(warm, ...probe)).toEqual(check(EmbeddedEngine.fromSources(sources), ...probe))
}

describe('engine cache keys', () => {
  it('the decision memo tells a NUL in the kind from one in the action', () => {
    const principal = Object.freeze({ id: 'u', roles: Object.freeze(['user']) as string[] })
    agree(
      [
        [principal, 'a', 'b\u0000c'],
        [principal, 'a', 'b\u0000c'],
      ],
      [principal, 'a\u0000b', 'c'],
    )
  })

  it('the principal plan tells a NUL in the principal id from one in the kind', () => {
    agree([[{ id: 'p', roles: ['user'] }, 'k\u0000default\u0000\u0000x', 'read']], [{ id: 'p\u0000default\u0000\u0000k', roles: ['user'] }, 'x', 'read'])
  })

  it('the parent-role sets tell two roles from one role holding a NUL', () => {
    agree([[{ id: 'u1', roles: ['a', 'b'] }, 'doc', 'read']], [{ id: 'u2', roles: ['a\u0000b'] }, 'doc', 'read'])
    agree([[{ id: 'u1', roles: ['\u00001:a1:b'] }, 'doc', 'read']], [{ id: 'u2', roles: ['a', 'b'] }, 'doc', 'read'])
  })
})
