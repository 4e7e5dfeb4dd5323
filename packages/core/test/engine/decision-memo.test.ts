import { fileURLToPath } from 'node:url'
import { beforeAll, describe, expect, it } from 'vitest'
import { EmbeddedEngine, RequestError, type CheckResourcesRequest, type Principal } from '@meshguard/core'

const SEED_DIR = fileURLToPath(new URL('./fixtures/seed', import.meta.url))

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value)
    for (const key of Object.keys(value)) deepFreeze((value as Record<string, unknown>)[key])
  }
  return value
}

const principalOf = (roles: string[], department: string): Principal =>
  deepFreeze({ id: 'spiffe://acme/employee-service', roles: ['employee-service'], attr: { act: { user: { id: 'alice', roles, attr: { department } } } } })

const check = (principal: Principal, id: string, attr: Record<string, unknown>, action = 'read'): CheckResourcesRequest => ({
  requestId: `req-${id}`,
  includeMeta: true,
  principal,
  resources: [{ resource: { kind: 'review', id, attr }, actions: [action] }],
})

describe('remembered decisions', () => {
  let remembering: EmbeddedEngine
  let evaluating: EmbeddedEngine
  beforeAll(async () => {
    remembering = await EmbeddedEngine.fromDirectory(SEED_DIR)
    evaluating = await EmbeddedEngine.fromDirectory(SEED_DIR, { rememberDecisions: false })
  })

  it('answers every request exactly as evaluating again would, over a mixed sequence', () => {
    const principals = [principalOf(['manager'], 'eng'), principalOf(['employee'], 'eng'), principalOf(['manager'], 'sales')]
    const mutable: Record<string, unknown> = { department: 'eng' }
    let seed = 7
    const next = (n: number): number => (seed = (seed * 1103515245 + 12345) % 2 ** 31) % n
    for (let i = 0; i < 600; i++) {
      const principal = principals[next(3)] as Principal
      const id = `r${next(4)}`
      // The same attr object, changed between checks, as well as fresh equal and unequal objects.
      if (next(5) === 0) mutable['department'] = next(2) === 0 ? 'eng' : 'sales'
      const attr = next(3) === 0 ? mutable : { department: next(2) === 0 ? 'eng' : 'sales' }
      const action = ['read', 'write', 'delete'][next(3)] as string
      const request = check(principal, id, attr, action)
      expect(remembering.checkResourcesSync(request)).toEqual(evaluating.checkResourcesSync(request))
    }
  })

  it('reuses the answer of a repeated check, with this request id', () => {
    const principal = principalOf(['manager'], 'eng')
    remembering.checkResourcesSync(check(principal, 'x1', { department: 'eng' }))
    const second = remembering.checkResourcesSync(check(principal, 'x1', { department: 'eng' }))
    const third = remembering.checkResourcesSync({ ...check(principal, 'x1', { department: 'eng' }), requestId: 'third' })
    expect(third.results).toBe(second.results)
    expect(third.requestId).toBe('third')
    expect(Object.isFrozen(third.results[0])).toBe(true)
    // Another attribute value is another check.
    const other = remembering.checkResourcesSync(check(principal, 'x1', { department: 'sales' }))
    expect(other.results).not.toBe(second.results)
    expect(other.results[0]?.actions['read']).toBe('EFFECT_DENY')
  })

  it('never reuses an answer for a principal that is not frozen', () => {
    const principal = { id: 'spiffe://acme/employee-service', roles: ['employee-service'], attr: { act: { user: { id: 'alice', roles: ['manager'], attr: { department: 'eng' } } } } }
    const request = check(principal, 'm1', { department: 'eng' })
    expect(remembering.checkResourcesSync(request).results[0]?.actions['read']).toBe('EFFECT_ALLOW')
    expect(remembering.checkResourcesSync(request).results[0]?.actions['read']).toBe('EFFECT_ALLOW')
    principal.attr.act.user.attr.department = 'sales'
    expect(remembering.checkResourcesSync(request).results[0]?.actions['read']).toBe('EFFECT_DENY')
  })

  it('still refuses malformed requests that look like a remembered one', () => {
    const principal = principalOf(['manager'], 'eng')
    remembering.checkResourcesSync(check(principal, 'v1', { department: 'eng' }))
    remembering.checkResourcesSync(check(principal, 'v1', { department: 'eng' }))
    const malformed = { ...check(principal, 'v1', { department: 'eng' }), requestId: 42 } as unknown as CheckResourcesRequest
    expect(() => remembering.checkResourcesSync(malformed)).toThrow(RequestError)
    const twoActions = { ...check(principal, 'v1', { department: 'eng' }), resources: [{ resource: { kind: 'review', id: 'v1', attr: { department: 'eng' } }, actions: ['read', 'read'] }] }
    expect(() => remembering.checkResourcesSync(twoActions)).toThrow(RequestError)
  })
})

/** A resource policy whose `read` rule (role `user`) has the condition `expr`; `more` adds rules. */
const readPolicy = (resource: string, expr: string, more = ''): string => `apiVersion: api.cerbos.dev/v1
resourcePolicy:
  version: default
  resource: ${resource}
  rules:
    - actions: ['read']
      effect: EFFECT_ALLOW
      roles: ['user']
      condition:
        match:
          expr: ${expr}
${more}`

const TIMED = readPolicy('doc', 'now() < timestamp("2030-01-01T00:00:00Z")', `    - actions: ['list']
      effect: EFFECT_ALLOW
      roles: ['user']
`)

describe('remembered decisions and the clock', () => {
  it('never reuses an answer whose evaluation read the clock, and starts afresh after a swap', () => {
    let now = new Date('2029-12-31T23:59:59Z')
    const engine = EmbeddedEngine.fromSources([{ file: 'doc.yaml', text: TIMED }], { now: () => now })
    const principal = deepFreeze({ id: 'u1', roles: ['user'], attr: {} })
    const read = { principal, resources: [{ resource: { kind: 'doc', id: 'd1', attr: {} }, actions: ['read'] }] }
    const list = { principal, resources: [{ resource: { kind: 'doc', id: 'd1', attr: {} }, actions: ['list'] }] }
    for (let i = 0; i < 3; i++) expect(engine.checkResourcesSync(read).results[0]?.actions['read']).toBe('EFFECT_ALLOW')
    for (let i = 0; i < 3; i++) engine.checkResourcesSync(list)
    now = new Date('2030-01-01T00:00:01Z')
    expect(engine.checkResourcesSync(read).results[0]?.actions['read']).toBe('EFFECT_DENY')
    expect(engine.checkResourcesSync(list).results[0]?.actions['list']).toBe('EFFECT_ALLOW')
    engine.swap(EmbeddedEngine.fromSources([{ file: 'doc.yaml', text: TIMED.replace("actions: ['list']", "actions: ['other']") }]).policySet)
    expect(engine.checkResourcesSync(list).results[0]?.actions['list']).toBe('EFFECT_DENY')
  })
})

const PRESENCE = readPolicy('note', "'!has(request.resource.attr.blocked)'")

describe('remembered decisions and attribute keys', () => {
  const engine = EmbeddedEngine.fromSources([{ file: 'note.yaml', text: PRESENCE }])
  const principal = deepFreeze({ id: 'u1', roles: ['user'], attr: {} })
  const read = (id: string, attr: Record<string, unknown>): CheckResourcesRequest => ({
    principal,
    includeMeta: true,
    resources: [{ resource: { kind: 'note', id, attr }, actions: ['read'] }],
  })
  const effect = (request: CheckResourcesRequest): string | undefined => engine.checkResourcesSync(request).results[0]?.actions['read']

  it('tells attributes apart by their keys, not only their values', () => {
    for (let i = 0; i < 3; i++) expect(effect(read('n1', { owner: 'u1' }))).toBe('EFFECT_ALLOW')
    // One key more than the remembered attributes.
    expect(effect(read('n1', { owner: 'u1', blocked: true }))).toBe('EFFECT_DENY')
    for (let i = 0; i < 3; i++) expect(effect(read('n2', { owner: 'u1', blocked: true }))).toBe('EFFECT_DENY')
    // One key fewer.
    expect(effect(read('n2', { owner: 'u1' }))).toBe('EFFECT_ALLOW')
    // The same keys under another name.
    expect(effect(read('n2', { owner: 'u1', blockd: true }))).toBe('EFFECT_ALLOW')
  })

  it('reuses an answer for equal attributes in another key order', () => {
    engine.checkResourcesSync(read('n3', { a: 1, b: 2 }))
    const remembered = engine.checkResourcesSync(read('n3', { a: 1, b: 2 }))
    expect(engine.checkResourcesSync(read('n3', { b: 2, a: 1 })).results).toBe(remembered.results)
  })

  it('keeps resource ids that contain the key separator apart', () => {
    for (let i = 0; i < 3; i++) effect(read('n4\u0000read', { blocked: true }))
    expect(effect(read('n4', {}))).toBe('EFFECT_ALLOW')
    expect(effect(read('n4\u0000read', {}))).toBe('EFFECT_ALLOW')
    expect(effect(read('n4\u0000read', { blocked: true }))).toBe('EFFECT_DENY')
  })
})
