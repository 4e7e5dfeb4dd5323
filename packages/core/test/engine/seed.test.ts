import { cp, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { EmbeddedEngine, PolicyError, RequestError, type CheckResourcesRequest } from '@meshguard/core'

const SEED_DIR = fileURLToPath(new URL('./fixtures/seed', import.meta.url))

/** A check as the pipeline builds it: the workload is the principal, the user is in attr.act.user. */
function reviewRequest(userRoles: string[], userDepartment: string, reviewDepartment: string, workloadRole = 'employee-service'): CheckResourcesRequest {
  return {
    requestId: 'req-1',
    includeMeta: true,
    principal: {
      id: 'spiffe://acme/employee-service',
      roles: [workloadRole],
      attr: { act: { user: { id: 'alice', roles: userRoles, attr: { department: userDepartment } } } },
    },
    resources: [{ resource: { kind: 'review', id: 'rev-1', attr: { department: reviewDepartment } }, actions: ['read', 'write'] }],
  }
}

describe('seed policy (issue 2)', () => {
  let engine: EmbeddedEngine
  beforeAll(async () => {
    engine = await EmbeddedEngine.fromDirectory(SEED_DIR)
  })

  it('lets a manager read a review of their own department', () => {
    const [result] = engine.checkResourcesSync(reviewRequest(['manager'], 'eng', 'eng')).results
    expect(result?.actions).toEqual({ read: 'EFFECT_ALLOW', write: 'EFFECT_DENY' })
    expect(result?.meta?.actions.read).toEqual({ matchedPolicy: 'resource.review.vdefault', matchedScope: '', matchedRule: 'resource.review.vdefault#rule-001' })
    expect(result?.meta?.effectiveDerivedRoles).toEqual(['manager_in_department'])
  })

  it('denies a manager of another department', () => {
    const [result] = engine.checkResourcesSync(reviewRequest(['manager'], 'sales', 'eng')).results
    expect(result?.actions.read).toBe('EFFECT_DENY')
    expect(result?.meta?.actions.read?.matchedPolicy).toBe('resource.review.vdefault')
  })

  it('lets HR read any review', () => {
    const [result] = engine.checkResourcesSync(reviewRequest(['hr'], 'people', 'eng')).results
    expect(result?.actions.read).toBe('EFFECT_ALLOW')
    expect(result?.meta?.effectiveDerivedRoles).toEqual(['hr_user'])
  })

  it('denies any other calling workload, whatever the user', () => {
    const [result] = engine.checkResourcesSync(reviewRequest(['hr', 'manager'], 'eng', 'eng', 'reporting-agent')).results
    expect(result?.actions.read).toBe('EFFECT_DENY')
    expect(result?.meta?.effectiveDerivedRoles).toEqual([])
  })

  it('answers NO_MATCH for a kind without policies', async () => {
    const res = await engine.checkResources({ ...reviewRequest(['hr'], 'x', 'x'), resources: [{ resource: { kind: 'salary', id: 's' }, actions: ['read'] }] })
    expect(res.results[0]?.meta?.actions.read).toEqual({ matchedPolicy: 'NO_MATCH', matchedScope: '' })
    expect(res.results[0]?.actions.read).toBe('EFFECT_DENY')
  })

  it.each([
    ['no principal id', { principal: { id: '', roles: ['a'] } }],
    ['no roles', { principal: { id: 'p', roles: [] } }],
    ['non-string role', { principal: { id: 'p', roles: [7] } }],
    ['no resource kind', { resources: [{ resource: { kind: '', id: 'r' }, actions: ['read'] }] }],
    ['non-string action', { resources: [{ resource: { kind: 'review', id: 'r' }, actions: [1] }] }],
    ['no actions', { resources: [{ resource: { kind: 'review', id: 'r' }, actions: [] }] }],
    ['no resources', { resources: [] }],
    ['bad scope', { resources: [{ resource: { kind: 'review', id: 'r', scope: 'acme..hr' }, actions: ['read'] }] }],
    ['bad policy version', { principal: { id: 'p', roles: ['a'], policyVersion: 'v-1' } }],
    ['duplicate actions', { resources: [{ resource: { kind: 'review', id: 'r' }, actions: ['read', 'read'] }] }],
  ])('rejects a malformed request (%s) with RequestError', async (_name, patch) => {
    const request = { ...reviewRequest(['hr'], 'x', 'x'), ...patch } as unknown as CheckResourcesRequest
    expect(() => engine.checkResourcesSync(request)).toThrow(RequestError)
    await expect(engine.checkResources(request)).rejects.toMatchObject({ code: 'ERR_AUTHZ_REQUEST_INVALID' })
  })
})

describe('hot reload', () => {
  let dir: string
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true })
  })

  it('swaps a new set in and keeps the last good set when a reload fails', async () => {
    dir = await mkdtemp(join(tmpdir(), 'mg-engine-'))
    await cp(SEED_DIR, dir, { recursive: true })
    const engine = await EmbeddedEngine.fromDirectory(dir)
    const digest = engine.policyDigest
    expect(digest).toMatch(/^[0-9a-f]{64}$/)

    // A broken policy: reload throws the PolicyError with file:line, the old set stays in force.
    await writeFile(join(dir, 'resources', 'broken.yaml'), 'apiVersion: api.cerbos.dev/v1\nresourcePolicy:\n  resource: x\n')
    const failure = await engine.reload().then(() => undefined, (err: unknown) => err)
    expect(failure).toBeInstanceOf(PolicyError)
    expect((failure as PolicyError).issues[0]).toMatchObject({ file: 'resources/broken.yaml', line: 2, message: 'missing required field "version"' })
    expect(engine.policyDigest).toBe(digest)
    expect(engine.checkResourcesSync(reviewRequest(['hr'], 'x', 'y')).results[0]?.actions.read).toBe('EFFECT_ALLOW')

    // A valid change: the new set answers, with a new digest.
    await rm(join(dir, 'resources', 'broken.yaml'))
    await writeFile(
      join(dir, 'resources', 'review.yaml'),
      'apiVersion: api.cerbos.dev/v1\nresourcePolicy:\n  version: default\n  resource: review\n  rules:\n    - actions: [read]\n      effect: EFFECT_DENY\n      roles: ["*"]\n',
    )
    const newDigest = await engine.reload()
    expect(newDigest).not.toBe(digest)
    expect(engine.policyDigest).toBe(newDigest)
    expect(engine.checkResourcesSync(reviewRequest(['hr'], 'x', 'y')).results[0]?.actions.read).toBe('EFFECT_DENY')
  })
})

describe('engine construction', () => {
  it('rejects something that is not a compiled policy set', () => {
    expect(() => new EmbeddedEngine({} as never)).toThrow(expect.objectContaining({ code: 'ERR_AUTHZ_INVALID_CONFIG' }))
  })

  it('rejects invalid options', async () => {
    const set = (await EmbeddedEngine.fromDirectory(SEED_DIR)).policySet
    expect(() => new EmbeddedEngine(set, { schemaEnforcement: 'strict' as never })).toThrow(expect.objectContaining({ code: 'ERR_AUTHZ_INVALID_CONFIG' }))
    expect(() => new EmbeddedEngine(set, { globals: [] as never })).toThrow(expect.objectContaining({ code: 'ERR_AUTHZ_INVALID_CONFIG' }))
  })
})

describe('plan caches', () => {
  it('keep deciding correctly after many distinct request shapes have flushed them', async () => {
    const engine = await EmbeddedEngine.fromDirectory(SEED_DIR)
    const base = reviewRequest(['manager'], 'eng', 'eng')
    // 120k distinct actions overflow the shared cache budget at least once.
    for (let i = 0; i < 60_000; i++) {
      const request = { ...base, resources: [{ resource: { kind: 'review', id: `r${i}`, attr: { department: 'eng' } }, actions: [`a${i}`, `b${i}`] }] }
      expect(engine.checkResourcesSync(request).results[0]?.actions[`a${i}`]).toBe('EFFECT_DENY')
    }
    expect(engine.checkResourcesSync(base).results[0]?.actions.read).toBe('EFFECT_ALLOW')
    expect(engine.checkResourcesSync(reviewRequest(['manager'], 'sales', 'eng')).results[0]?.actions.read).toBe('EFFECT_DENY')
  })
})
