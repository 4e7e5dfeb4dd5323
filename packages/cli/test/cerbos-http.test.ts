import { describe, expect, it } from 'vitest'
import type { CheckOutput } from '@meshguard/core'
import { readCheckRequest, toHttpResponse } from '../src/cerbos-http.js'

const output = (over: Partial<CheckOutput> = {}): CheckOutput => ({
  requestId: '',
  resourceId: 'r1',
  actions: { write: { effect: 'EFFECT_DENY', policy: 'resource.doc.vdefault', scope: '' }, read: { effect: 'EFFECT_ALLOW', policy: 'resource.doc.vdefault/acme', scope: 'acme' } },
  effectiveDerivedRoles: [],
  validationErrors: [],
  outputs: [],
  evaluationErrors: [],
  effectivePolicies: {},
  ...over,
})

describe('Cerbos HTTP API shapes', () => {
  const body = { principal: { id: 'p', roles: ['r'] }, resources: [{ actions: ['read', 'write'], resource: { kind: 'doc', id: 'r1', scope: 'acme' } }] }

  it('omits empty fields and meta unless asked, and sorts action keys', () => {
    const response = toHttpResponse(readCheckRequest(body), [output()])
    expect(JSON.stringify(response)).toBe('{"results":[{"resource":{"id":"r1","kind":"doc","scope":"acme"},"actions":{"read":"EFFECT_ALLOW","write":"EFFECT_DENY"}}]}')
  })

  it('writes meta, derived roles, validation errors and outputs like the PDP', () => {
    const request = readCheckRequest({ ...body, requestId: 'q', includeMeta: true })
    const response = toHttpResponse(request, [
      output({
        effectiveDerivedRoles: ['owner'],
        validationErrors: [{ path: '/a', message: 'bad', source: 'SOURCE_RESOURCE' }],
        outputs: [
          { src: 'resource.doc.vdefault#r', action: 'read', val: { b: 1, a: [{ d: 1, c: 2 }] } },
          { src: 'resource.doc.vdefault#e', action: 'write', error: 'division by zero' },
        ],
      }),
    ])
    expect(JSON.stringify(response)).toBe(
      '{"requestId":"q","results":[{"resource":{"id":"r1","kind":"doc","scope":"acme"},"actions":{"read":"EFFECT_ALLOW","write":"EFFECT_DENY"},' +
        '"validationErrors":[{"path":"/a","message":"bad","source":"SOURCE_RESOURCE"}],' +
        '"meta":{"actions":{"read":{"matchedPolicy":"resource.doc.vdefault/acme","matchedScope":"acme"},"write":{"matchedPolicy":"resource.doc.vdefault"}},"effectiveDerivedRoles":["owner"]},' +
        '"outputs":[{"src":"resource.doc.vdefault#r","val":{"a":[{"c":2,"d":1}],"b":1},"action":"read"},{"src":"resource.doc.vdefault#e","action":"write","error":"division by zero"}]}]}',
    )
  })

  it('rejects malformed envelopes with a reason', () => {
    const reasons = [null, [], { ...body, resources: [] }, { ...body, requestId: 1 }, { ...body, includeMeta: 'yes' }, { ...body, auxData: 3 }, { ...body, resources: [1] }].map((b) => {
      try {
        readCheckRequest(b)
        return 'accepted'
      } catch (err) {
        return (err as { reason: string }).reason
      }
    })
    expect(reasons).toEqual(['request_not_object', 'request_not_object', 'resources_missing', 'invalid_field', 'invalid_field', 'invalid_aux_data', 'resource_missing'])
  })

  it('accepts both protobuf JSON spellings and refuses unknown fields, as the PDP does', () => {
    const snake = readCheckRequest({
      request_id: 'q',
      include_meta: true,
      principal: { id: 'p', roles: ['r'], policy_version: 'v1', attr: null },
      resources: [{ actions: ['read'], resource: { kind: 'doc', id: 'r1', policy_version: 'v2' } }],
      aux_data: { jwt: { sub: 'x' } },
    })
    expect(snake).toMatchObject({ requestId: 'q', includeMeta: true })
    expect(snake.inputs[0]).toMatchObject({ principal: { id: 'p', policyVersion: 'v1' }, resource: { policyVersion: 'v2' }, auxData: { jwt: { sub: 'x' } } })
    expect(snake.inputs[0]?.principal).not.toHaveProperty('attr')
    const unknown = [
      { ...body, extra: 1 },
      { ...body, principal: { ...body.principal, bogus: 1 } },
      { ...body, resources: [{ ...body.resources[0], x: 1 }] },
      { ...body, resources: [{ actions: ['read'], resource: { kind: 'doc', id: 'r1', colour: 'red' } }] },
      { ...body, auxData: { jwt: { token: 'a.b.c', zz: 1 } } },
      { ...body, auxData: { other: {} } },
    ].map((b) => {
      try {
        readCheckRequest(b)
        return 'accepted'
      } catch (err) {
        return (err as { reason: string }).reason
      }
    })
    expect(new Set(unknown)).toEqual(new Set(['unknown_field']))
  })

  it('passes verified JWT claims through', () => {
    expect(readCheckRequest({ ...body, auxData: { jwt: { sub: 'x' } } }).inputs[0]?.auxData).toEqual({ jwt: { sub: 'x' } })
    const named = { a: { claims: { aud: 'y' } } }
    expect(readCheckRequest({ ...body, auxData: { jwts: named } }).inputs[0]?.auxData).toEqual({ jwts: named })
  })

  it('decodes an HTTP API token like a PDP with verification disabled, refusing what the PDP refuses', () => {
    const part = (v: unknown): string => Buffer.from(JSON.stringify(v)).toString('base64url')
    const token = (claims: unknown): string => `${part({ alg: 'HS256' })}.${part(claims)}.${part('sig')}`
    const now = Math.floor(Date.now() / 1000)
    const decoded = readCheckRequest({ ...body, auxData: { jwt: { token: token({ aud: 'svc', n: 1, exp: now + 60 }), keySetId: 'ks' } } })
    expect(decoded.inputs[0]?.auxData).toEqual({ jwt: { aud: ['svc'], n: 1, exp: now + 60 } })
    const refused = [
      token({ exp: now - 1 }),
      token({ nbf: now + 60 }),
      token({ iat: now + 60 }),
      token({ iss: 5 }),
      token({ aud: [1] }),
      token({ exp: 'soon' }),
      token([1]),
      'abc.def',
      'a.%%%.c',
      5,
    ].map((t) => {
      try {
        readCheckRequest({ ...body, auxData: { jwt: { token: t } } })
        return 'accepted'
      } catch (err) {
        return `${(err as { reason: string }).reason}: ${(err as Error).message}`
      }
    })
    expect(new Set(refused)).toEqual(new Set(['invalid_aux_data: invalid auxData']))
  })
})
