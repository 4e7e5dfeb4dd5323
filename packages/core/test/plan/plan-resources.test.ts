/**
 * EmbeddedEngine.planResources: request validation, the response shape, strict evaluation and
 * known resource attributes (the Cerbos conformance suites and the PDP differential cover the
 * planner's combinations in depth).
 */
import { describe, expect, it } from 'vitest'
import { EmbeddedEngine, RequestError } from '@meshguard/core'

const POLICY = `
apiVersion: api.cerbos.dev/v1
resourcePolicy:
  version: default
  resource: doc
  rules:
    - actions: [read]
      roles: [user]
      effect: EFFECT_ALLOW
      condition:
        match:
          expr: R.attr.owner == P.id || P.attr.missing == "x"
    - actions: [list]
      roles: [user]
      effect: EFFECT_ALLOW
      condition:
        match:
          expr: R.attr.owner == P.id
    - actions: [broken]
      roles: [user]
      effect: EFFECT_ALLOW
      condition:
        match:
          expr: R.attr.owner == P.attr.missing
`

const engine = (strictEvaluation = false): EmbeddedEngine => EmbeddedEngine.fromSources([{ file: 'doc.yaml', text: POLICY }], { strictEvaluation })
const principal = { id: 'alice', roles: ['user'] }

describe('EmbeddedEngine.planResources', () => {
  it('answers with the Cerbos response shape', async () => {
    const res = await engine().planResources({ requestId: 'r1', principal, resource: { kind: 'doc' }, actions: ['list'], includeMeta: true })
    expect(res).toEqual({
      requestId: 'r1',
      actions: ['list'],
      resourceKind: 'doc',
      policyVersion: '',
      filter: { kind: 'KIND_CONDITIONAL', condition: { expression: { operator: 'eq', operands: [{ variable: 'request.resource.attr.owner' }, { value: 'alice' }] } } },
      meta: { filterDebug: '(eq request.resource.attr.owner "alice")', matchedScopes: { list: '' } },
      validationErrors: [],
    })
  })

  it('echoes the deprecated single action and its matched scope', () => {
    // eslint-disable-next-line @typescript-eslint/no-deprecated -- this test covers the deprecated single-action form
    const res = engine().planResourcesSync({ action: 'list', principal, resource: { kind: 'doc' }, includeMeta: true })
    expect(res.action).toBe('list')
    expect(res.actions).toBeUndefined()
    expect(res.meta).toEqual({ filterDebug: '(eq request.resource.attr.owner "alice")', matchedScope: '' })
  })

  it('folds known resource attributes into the plan', () => {
    const mine = engine().planResourcesSync({ principal, resource: { kind: 'doc', attr: { owner: 'alice' } }, actions: ['list'] })
    const theirs = engine().planResourcesSync({ principal, resource: { kind: 'doc', attr: { owner: 'bob' } }, actions: ['list'] })
    expect(mine.filter).toEqual({ kind: 'KIND_ALWAYS_ALLOWED' })
    expect(theirs.filter).toEqual({ kind: 'KIND_ALWAYS_DENIED' })
  })

  it('keeps the known side of an erroring || and drops an erroring condition', () => {
    const e = engine()
    expect(e.planResourcesSync({ principal, resource: { kind: 'doc' }, actions: ['broken'] }).filter).toEqual({ kind: 'KIND_ALWAYS_DENIED' })
    expect(e.planResourcesSync({ principal, resource: { kind: 'doc' }, actions: ['read'] }).filter.kind).toBe('KIND_CONDITIONAL')
  })

  it('denies an action whose condition fails under strict evaluation', () => {
    const res = engine(true).planResourcesSync({ principal, resource: { kind: 'doc' }, actions: ['broken', 'list'], includeMeta: true })
    expect(res.filter).toEqual({ kind: 'KIND_ALWAYS_DENIED' })
    expect(res.meta?.filterDebug).toBe('(false)')
  })

  it('refuses malformed requests with a RequestError', () => {
    const e = engine()
    const bad: unknown[] = [
      { principal, resource: { kind: 'doc' }, actions: [] },
      { principal, resource: { kind: 'doc' }, actions: ['a', 'a'] },
      { principal, resource: { kind: 'doc' }, action: 'a', actions: ['b'] },
      { principal, resource: {}, actions: ['a'] },
      { principal: { id: 'x', roles: [] }, resource: { kind: 'doc' }, actions: ['a'] },
      { principal, resource: { kind: 'doc', attr: [] }, actions: ['a'] },
    ]
    for (const request of bad) expect(() => e.planResourcesSync(request as never), JSON.stringify(request)).toThrow(RequestError)
  })

  it('keeps an action named __proto__ as data', () => {
    const res = engine().planResourcesSync({ principal, resource: { kind: 'doc' }, actions: ['__proto__', 'list'], includeMeta: true })
    expect(Object.keys(res.meta?.matchedScopes ?? {})).toEqual(['__proto__', 'list'])
    expect(res.filter.kind).toBe('KIND_ALWAYS_DENIED')
  })

  it('reads only own properties of untrusted attributes', () => {
    const attr = JSON.parse('{"__proto__": {"owner": "alice"}}') as Record<string, unknown>
    const res = engine().planResourcesSync({ principal, resource: { kind: 'doc', attr }, actions: ['list'] })
    expect(res.filter.kind).toBe('KIND_CONDITIONAL')
  })
})
