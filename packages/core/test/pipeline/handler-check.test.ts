import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import {
  createAuditLog,
  createGuard,
  EmbeddedEngine,
  functionSink,
  InternalError,
  MeshguardError,
  type AuditRecord,
  type CheckResourcesRequest,
  type DecisionEngine,
  type GuardOptions,
} from '../../src/index.js'
import type { GuardSuccess, IdentityVerifierLike, VerifiedCallerLike } from '../../src/adapter.js'

const FIXTURE = fileURLToPath(new URL('../../../../test/adapters/fixtures/outputs/', import.meta.url))
const sources = ['resources/review.yaml', 'derived_roles/hr_roles.yaml'].map((file) => ({ file, text: readFileSync(`${FIXTURE}${file}`, 'utf8') }))

const caller: VerifiedCallerLike = Object.freeze({
  principal: { id: 'spiffe://example.org/ns/default/sa/employee-service', roles: ['employee-service'], attr: { act: { user: { id: 'alice', roles: ['manager'], attr: { department: 'engineering' } } } } },
})
const identity: IdentityVerifierLike<VerifiedCallerLike> = { verify: async () => caller }
const view = { method: 'GET', route: '/x', headers: {}, params: {}, request: {} }
const review = (id: string, department: string) => ({ kind: 'review', id, attr: { department } })

async function grantOf(options: Partial<GuardOptions<VerifiedCallerLike>> = {}): Promise<{ grant: GuardSuccess<VerifiedCallerLike>; records: AuditRecord[] & { flush(): Promise<void> } }> {
  const records: AuditRecord[] = []
  const audit = createAuditLog({ sinks: [functionSink((r) => void records.push(r))], flushIntervalMs: 0 })
  const guard = createGuard({ engine: EmbeddedEngine.fromSources(sources), identity, service: 'review-service', audit, ...options })
  const outcome = await guard.authenticate(view)
  if (!outcome.ok) throw new Error('not granted')
  return { grant: outcome, records: Object.assign(records, { flush: () => audit.flush() }) }
}

describe('handler checks (grant.check)', () => {
  it('accepts one resource and one action as well as lists', async () => {
    const { grant } = await grantOf()
    const one = await grant.check(review('r1', 'engineering'), 'read')
    expect(one.allowed).toBe(true)
    expect(one.results).toHaveLength(1)
    expect(one.isAllowed('r1', 'read')).toBe(true)
    // Not asked: never allowed.
    expect(one.isAllowed('r1', 'delete')).toBe(false)
    expect(one.isAllowed('r2', 'read')).toBe(false)
  })

  it('rejects malformed arguments with a RequestError, and records nothing as allowed', async () => {
    const { grant } = await grantOf()
    await expect(grant.check([], 'read')).rejects.toMatchObject({ code: 'ERR_AUTHZ_REQUEST_INVALID', reason: 'invalid_resources' })
    await expect(grant.check(review('r1', 'x'), [])).rejects.toMatchObject({ code: 'ERR_AUTHZ_REQUEST_INVALID', reason: 'invalid_actions' })
    await expect(grant.check(review('r1', 'x'), [''])).rejects.toMatchObject({ reason: 'invalid_actions' })
    await expect(grant.check({ kind: '', id: 'r1' }, 'read')).rejects.toBeInstanceOf(MeshguardError)
  })

  it('fails closed when the engine fails or answers without an effect, with an error record', async () => {
    const broken: DecisionEngine = { kind: 'remote', policyDigest: 'x', checkResources: async () => Promise.reject(new TypeError('engine bug')) }
    const { grant, records } = await grantOf({ engine: broken })
    await expect(grant.check(review('r1', 'engineering'), 'read')).rejects.toMatchObject({ code: 'ERR_AUTHZ_INTERNAL' })
    const silent: DecisionEngine = {
      kind: 'remote',
      checkResources: async (request: CheckResourcesRequest) => ({ requestId: '', results: request.resources.map((r) => ({ resource: { ...r.resource, policyVersion: '', scope: '' }, actions: {}, validationErrors: [], outputs: [] })) }),
    }
    const second = await grantOf({ engine: silent })
    await expect(second.grant.check(review('r1', 'engineering'), 'read')).rejects.toBeInstanceOf(InternalError)
    await records.flush()
    expect(records.map((r) => [r.outcome, r.metadata?.['check']])).toEqual([['error', 'handler']])
    await second.records.flush()
    expect(second.records.map((r) => [r.outcome, r.metadata?.['check']])).toEqual([['error', 'handler']])
  })

  it('refuses when a fail-closed audit log cannot take the record', async () => {
    const audit = createAuditLog({ sinks: [functionSink(() => Promise.reject(new Error('disk full')))], failClosed: true, flushIntervalMs: 0 })
    const guard = createGuard({ engine: EmbeddedEngine.fromSources(sources), identity, service: 'review-service', audit })
    const outcome = await guard.authenticate(view)
    if (!outcome.ok) throw new Error('not granted')
    await outcome.check(review('r1', 'engineering'), 'read')
    await audit.flush()
    await expect(outcome.check(review('r1', 'engineering'), 'read')).rejects.toMatchObject({ code: 'ERR_AUTHZ_AUDIT_FAILED', reason: 'audit_unavailable' })
  })
})

describe('explained denials', () => {
  it('puts the explanation in the 403 body only when asked, and never under NODE_ENV=production', async () => {
    const engine = EmbeddedEngine.fromSources(sources)
    const route = { resource: () => review('r1', 'people'), action: 'read' }
    const quiet = createGuard({ engine, identity, service: 's' })
    const refused = await quiet.authorize(view, route)
    expect(!refused.ok && refused.problem).not.toHaveProperty('explanation')
    const talkative = createGuard({ engine, identity, service: 's', explain: { problem: true } })
    const explained = await talkative.authorize(view, route)
    if (explained.ok) throw new Error('allowed')
    const why = explained.problem['explanation'] as { resources: Array<{ actions: Array<{ note?: string; rules: unknown[] }> }> }
    expect(why.resources[0]?.actions[0]?.note).toBe('no rule matched: denied by default')
    expect(why.resources[0]?.actions[0]?.rules).toEqual([
      expect.objectContaining({ rule: 'manager-reads-own-department', matched: false, derivedRole: 'manager_in_department' }),
      expect.objectContaining({ rule: 'hr-reads-all', matched: false, derivedRole: 'hr_user' }),
    ])
    const previous = process.env['NODE_ENV']
    process.env['NODE_ENV'] = 'production'
    try {
      expect(() => createGuard({ engine, identity, service: 's', explain: { problem: true } })).toThrow(/explain\.problem/)
    } finally {
      if (previous === undefined) delete process.env['NODE_ENV']
      else process.env['NODE_ENV'] = previous
    }
  })

  it('masks the values an explanation shows with the audit log’s attribute filters', async () => {
    const records: AuditRecord[] = []
    const audit = createAuditLog({
      sinks: [functionSink((r) => void records.push(r))],
      attributes: { principal: { exclude: ['act.user.attr.department'] } },
    })
    const guard = createGuard({ engine: EmbeddedEngine.fromSources(sources), identity, service: 's', audit })
    await guard.authorize(view, { resource: () => review('r1', 'people'), action: 'read' })
    await audit.flush()
    const text = JSON.stringify(records[0]?.explanation)
    expect(text).toContain('"request.principal.attr.act.user.attr.department":"[masked]"')
    // The resource's attribute is not filtered, and the roles the condition reads are not attributes.
    expect(text).toContain('"request.resource.attr.department":"people"')
    expect(text).not.toContain('"engineering"')
  })

  it('leaves the decision alone when explaining fails', async () => {
    const engine = EmbeddedEngine.fromSources(sources)
    const failing = Object.assign(Object.create(engine) as EmbeddedEngine, {
      explainSync: () => {
        throw new TypeError('explain bug')
      },
    })
    const errors: unknown[] = []
    const guard = createGuard({ engine: failing, identity, service: 's', explain: { problem: true }, onInternalError: (e) => errors.push(e) })
    const refused = await guard.authorize(view, { resource: () => review('r1', 'people'), action: 'read' })
    expect(!refused.ok && [refused.status, refused.problem.reason, refused.problem['explanation']]).toEqual([403, 'denied', undefined])
    expect(errors).toHaveLength(1)
    const allowed = await guard.authorize(view, { resource: () => review('r1', 'engineering'), action: 'read' })
    expect(allowed.ok).toBe(true)
  })
})
