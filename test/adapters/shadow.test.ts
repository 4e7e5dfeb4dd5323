/**
 * Shadow (dry-run) policies over real HTTP on every adapter: a candidate policy set that would deny
 * one of today's allowed calls is recorded, never enforced; agreeing decisions carry nothing extra;
 * a failing candidate changes nothing. And `createMeshguard({ shadow })` with a candidate that does
 * not compile starts, reports it, and picks the candidate up once it compiles (keeping the last
 * good one after a bad reload).
 */
import {
  createGuard,
  createTelemetry,
  EmbeddedEngine,
  type AuditLog,
  type AuditRecord,
  type Telemetry,
} from '@meshguard/core'
import { cp, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { request } from 'undici'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
// From source, like test/support/identity.ts: the fixture's verifier options carry the source's TrustBundle, a class
// the built declarations accept only from themselves (private members). At run time @meshguard/core is this module.
import { createIdentityVerifier, createMeshguard } from '../../packages/core/src/index.js'
import type { ReloadEvent } from '../../packages/core/src/node.js'
import type { IdentityFixture } from '../support/identity.js'
import { startAllAdapters } from './all-drivers.js'
import { POLICY_DIR, SERVICE } from './contract.js'
import type { RunningApp } from './drivers.js'
import { createGuardFixture } from './guard-fixture.js'

const CANDIDATE = fileURLToPath(new URL('./fixtures/candidate', import.meta.url))

type Disagreement = Parameters<NonNullable<Telemetry['recordShadowDisagreement']>>[0]

let ids: IdentityFixture
let apps = new Map<string, RunningApp>()
let records: AuditRecord[]
const counted: Disagreement[] = []
let audit: AuditLog
let candidate: EmbeddedEngine

beforeAll(async () => {
  candidate = await EmbeddedEngine.fromDirectory(CANDIDATE)
  const telemetry: Telemetry = { ...createTelemetry(), recordShadowDisagreement: (d) => void counted.push(d) }
  // Allow records are not kept: a disagreement must be kept anyway.
  const fixture = await createGuardFixture({ engine: await EmbeddedEngine.fromDirectory(POLICY_DIR), guard: { telemetry, shadow: { engine: candidate } }, keepAllowed: false })
  ;({ ids, records, audit } = fixture)
  apps = await startAllAdapters(fixture.guard)
})

afterAll(async () => {
  await Promise.all([...apps.values()].map((app) => app.close()))
  await audit.close()
})

async function get(app: RunningApp, path: string, actor: 'alice' | 'hana'): Promise<number> {
  const response = await request(`${app.url}${path}`, { headers: await ids.headers({ from: 'employee-service', to: SERVICE, actor }) })
  await response.body.dump()
  return response.statusCode
}

/** The status of a GET, and the audit records and disagreements it added. */
async function recorded(app: RunningApp, path: string, actor: 'alice' | 'hana'): Promise<{ status: number; written: AuditRecord[]; disagreements: Disagreement[] }> {
  await audit.flush()
  const before = records.length
  const countedBefore = counted.length
  const status = await get(app, path, actor)
  await audit.flush()
  return { status, written: records.slice(before), disagreements: counted.slice(countedBefore) }
}

describe('shadow policies', () => {
  it('enforces the live decision and records the candidate’s disagreement, with a metric', async () => {
    for (const [name, app] of apps) {
      // HR reads a review of another department: allowed live, denied by the candidate.
      const { status, written, disagreements } = await recorded(app, '/reviews/r-eng', 'hana')
      expect(status, name).toBe(200)
      expect(written, name).toHaveLength(1)
      expect(written[0], name).toMatchObject({
        outcome: 'allowed',
        rule: 'resource.review.vdefault#rule-002',
        shadow: {
          candidateDigest: candidate.policyDigest,
          differences: [
            { resource: { kind: 'review', id: 'r-eng' }, action: 'read', live: 'EFFECT_ALLOW', livePolicy: 'resource.review.vdefault', candidate: 'EFFECT_DENY', candidatePolicy: 'resource.review.vdefault' },
          ],
        },
      })
      expect(disagreements, name).toEqual([
        { policy: 'resource.review.vdefault', resourceKind: 'review', action: 'read', live: 'EFFECT_ALLOW', candidate: 'EFFECT_DENY' },
      ])
    }
  })

  it('adds nothing where the candidate agrees (and keepAllowed: false then writes no record)', async () => {
    for (const [name, app] of apps) {
      expect(await recorded(app, '/reviews/r-eng', 'alice'), name).toEqual({ status: 200, written: [], disagreements: [] })
    }
  })
})

describe('a candidate that fails', () => {
  it('never changes an outcome when it throws', async () => {
    const errors: unknown[] = []
    const live = await EmbeddedEngine.fromDirectory(POLICY_DIR)
    const guard = createGuard({
      engine: live,
      identity: createIdentityVerifier(ids.verifierOptions(SERVICE)),
      service: SERVICE,
      shadow: {
        engine: {
          checkResourcesSync: () => {
            throw new TypeError('candidate bug')
          },
        },
      },
      onInternalError: (err) => errors.push(err),
    })
    const view = (headers: Record<string, string>) => ({ method: 'GET', headers, params: { id: 'r-eng' }, request: {} })
    const allowed = await guard.authorize(view(await ids.headers({ from: 'employee-service', to: SERVICE, actor: 'alice' })), { resource: () => ({ kind: 'review', id: 'r-eng', attr: { department: 'engineering' } }), action: 'read' })
    expect(allowed.ok).toBe(true)
    const denied = await guard.authorize(view(await ids.headers({ from: 'employee-service', to: SERVICE, actor: 'alice' })), { resource: () => ({ kind: 'review', id: 'r-people', attr: { department: 'people' } }), action: 'read' })
    expect(!denied.ok && denied.status).toBe(403)
    expect(errors).toHaveLength(2)
  })

  it('starts without a candidate that does not compile, takes it once it compiles, and keeps it after a bad reload', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'meshguard-shadow-'))
    const warnings: string[] = []
    const onWarning = (warning: Error & { code?: string }): void => {
      if (warning.code === 'MESHGUARD_SHADOW_POLICY_ERROR') warnings.push(warning.message)
    }
    process.on('warning', onWarning)
    const events: ReloadEvent[] = []
    const reloaded = (count: number): Promise<void> =>
      new Promise((resolve) => {
        const poll = setInterval(() => {
          if (events.length >= count) {
            clearInterval(poll)
            resolve()
          }
        }, 10)
      })
    try {
      await cp(CANDIDATE, dir, { recursive: true })
      const policy = join(dir, 'resources', 'review.yaml')
      await writeFile(policy, 'apiVersion: api.cerbos.dev/v1\nresourcePolicy: [not a policy\n')
      const errors: unknown[] = []
      const meshguard = await createMeshguard({
        service: SERVICE,
        policies: POLICY_DIR,
        identity: createIdentityVerifier(ids.verifierOptions(SERVICE)),
        audit: false,
        shadow: { policies: dir, watch: { debounceMs: 5, poll: { intervalMs: 20 }, onReload: (e) => events.push(e) } },
        guard: { onInternalError: (e) => errors.push(e) },
      })
      try {
        await new Promise((resolve) => setImmediate(resolve))
        expect(meshguard.shadow?.current()).toBeUndefined()
        expect(meshguard.shadow?.error?.code).toBe('ERR_AUTHZ_POLICY_INVALID')
        expect(errors).toHaveLength(1)
        await cp(join(CANDIDATE, 'resources', 'review.yaml'), policy)
        await reloaded(1)
        const good = meshguard.shadow?.current()
        expect(good?.policyDigest).toBe(candidate.policyDigest)
        expect(meshguard.shadow?.error).toBeUndefined()
        await writeFile(policy, 'apiVersion: api.cerbos.dev/v1\nresourcePolicy: [broken again\n')
        await reloaded(2)
        expect(events[1]?.ok).toBe(false)
        expect(meshguard.shadow?.current()).toBe(good)
        expect(meshguard.shadow?.current()?.policyDigest).toBe(candidate.policyDigest)
      } finally {
        await meshguard.close()
      }
      expect(warnings.length).toBeGreaterThanOrEqual(2)
    } finally {
      process.off('warning', onWarning)
      await rm(dir, { recursive: true, force: true })
    }
  })
})
