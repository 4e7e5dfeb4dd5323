import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createIdentityFixture, type IdentityFixture } from '../../../../test/support/identity.js'
import { callerContext, ConfigError, selfSignedTokenSource, createMeshguard, EmbeddedEngine, PolicyError, type RequestView } from '../../src/index.js'

const POLICIES = fileURLToPath(new URL('../../../../examples/policies', import.meta.url))

let ids: IdentityFixture
let brokenDir: string

beforeAll(async () => {
  ids = await createIdentityFixture()
  brokenDir = mkdtempSync(join(tmpdir(), 'meshguard-bad-policies-'))
  writeFileSync(join(brokenDir, 'bad.yaml'), 'apiVersion: api.cerbos.dev/v1\nresourcePolicy:\n  resource: 7\n')
})

afterAll(() => {
  if (brokenDir) rmSync(brokenDir, { recursive: true, force: true })
})

const view = (headers: Record<string, string>, id: string): RequestView<{ id: string }> => ({
  method: 'GET',
  path: `/reviews/${id}`,
  route: '/reviews/:id',
  headers,
  params: { id },
  request: { id },
})

describe('createMeshguard', () => {
  it('wires the embedded engine, the identity verifier and the guard from one config', async () => {
    const meshguard = await createMeshguard({ service: 'review-service', policies: POLICIES, identity: ids.verifierOptions('review-service') })
    expect(meshguard.engine).toBeInstanceOf(EmbeddedEngine)
    expect(meshguard.workload).toBeUndefined()
    const route = { resource: (req: { id: string }) => ({ kind: 'review', id: req.id, attr: { department: 'engineering' } }), action: 'read', actor: 'required' as const }
    const alice = await ids.headers({ from: 'employee-service', to: 'review-service', actor: 'alice' })
    const outcome = await meshguard.guard.authorize(view(alice, 'r1'), route)
    if (!outcome.ok) throw new Error(`expected an allow, got ${outcome.problem.reason}`)
    expect(outcome.decision?.policy).toBe('resource.review.vdefault')
    // The default context is core's callerContext, so outbound calls in the handler find the actor.
    expect(meshguard.guard.run(outcome.caller, () => callerContext.current()?.actor?.id)).toBe('alice')
    const ed = await ids.headers({ from: 'employee-service', to: 'review-service', actor: 'ed' })
    const denied = await meshguard.guard.authorize(view(ed, 'r1'), route)
    expect(denied.ok ? 200 : denied.status).toBe(403)
  })

  it('takes a ready engine and verifier, and builds the outbound identity when configured', async () => {
    const engine = await EmbeddedEngine.fromDirectory(POLICIES)
    const self = ids.services['review-service']!
    const base = await createMeshguard({ service: 'review-service', policies: engine, identity: ids.verifierOptions('review-service') })
    const meshguard = await createMeshguard({
      service: 'review-service',
      policies: engine,
      identity: base.verifier,
      workload: { id: self.id, source: selfSignedTokenSource({ key: self.privateKey, kid: self.kid }) },
    })
    expect(meshguard.engine).toBe(engine)
    expect(meshguard.verifier).toBe(base.verifier)
    const outbound = await meshguard.workload?.headersFor({ audience: ids.services['payments']!.id })
    expect(outbound?.authorization).toMatch(/^Bearer ey/)
  })

  it('stops on invalid policies with file and line, and on bad options with the option name', async () => {
    await expect(createMeshguard({ service: 's', policies: brokenDir, identity: ids.verifierOptions('review-service') })).rejects.toBeInstanceOf(PolicyError)
    await expect(createMeshguard({ service: 's', policies: 42 as never, identity: ids.verifierOptions('review-service') })).rejects.toThrow(/^policies:/)
    await expect(createMeshguard({ service: '', policies: POLICIES, identity: ids.verifierOptions('review-service') })).rejects.toBeInstanceOf(ConfigError)
    await expect(createMeshguard({ service: 's', policies: POLICIES, identity: null as never })).rejects.toThrow(/^identity:/)
  })
})
