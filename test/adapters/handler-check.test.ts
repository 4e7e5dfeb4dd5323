/**
 * Checks inside handlers (`req.meshguard.check`), over real HTTP on every adapter: the same batched
 * answer everywhere, the route decision's rule and outputs exposed to the handler, one audit record
 * per handler check naming the rule that decided, and the handler still inside the caller context.
 */
import { EmbeddedEngine, type AuditLog, type AuditRecord } from '@meshguard/core'
import { fileURLToPath } from 'node:url'
import { request } from 'undici'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { IdentityFixture } from '../support/identity.js'
import { startAllAdapters } from './all-drivers.js'
import { SERVICE } from './contract.js'
import type { RunningApp } from './drivers.js'
import { createGuardFixture } from './guard-fixture.js'

const POLICIES = fileURLToPath(new URL('./fixtures/outputs', import.meta.url))

let ids: IdentityFixture
let apps = new Map<string, RunningApp>()
let records: AuditRecord[]
let audit: AuditLog

beforeAll(async () => {
  const fixture = await createGuardFixture({ engine: await EmbeddedEngine.fromDirectory(POLICIES) })
  ;({ ids, records, audit } = fixture)
  apps = await startAllAdapters(fixture.guard)
})

afterAll(async () => {
  await Promise.all([...apps.values()].map((app) => app.close()))
  await audit.close()
})

async function get(app: RunningApp, path: string, actor: 'alice' | 'hana' | 'ed'): Promise<{ status: number; body: Record<string, unknown> }> {
  const headers = await ids.headers({ from: 'employee-service', to: SERVICE, actor })
  const response = await request(`${app.url}${path}`, { headers })
  return { status: response.statusCode, body: (await response.body.json()) as Record<string, unknown> }
}

const allow = (rule: string) => ({ allowed: true, effect: 'EFFECT_ALLOW', policy: 'resource.review.vdefault', rule: `resource.review.vdefault#${rule}`, scope: '' })
const deny = (rule: string | undefined) => ({ allowed: false, effect: 'EFFECT_DENY', policy: 'resource.review.vdefault', ...(rule ? { rule: `resource.review.vdefault#${rule}` } : {}), scope: '' })

describe('checks inside handlers', () => {
  it('answers a batch per resource and action, the same on every adapter, with the route decision’s rule and outputs', async () => {
    for (const [name, app] of apps) {
      const { status, body } = await get(app, '/batch/r-eng', 'alice')
      expect([name, status], JSON.stringify(body)).toEqual([name, 200])
      expect(body['route'], name).toEqual({
        rule: 'resource.review.vdefault#manager-reads-own-department',
        outputs: [{ src: 'resource.review.vdefault#manager-reads-own-department', val: { reader: 'alice', department: 'engineering' } }],
      })
      const check = body['check'] as Record<string, unknown>
      expect(check['allowed'], name).toBe(false)
      expect(check['engRead'], name).toBe(true)
      expect(check['results'], name).toEqual([
        {
          id: 'r-eng',
          actions: { read: allow('manager-reads-own-department'), delete: deny('nobody-deletes') },
          outputs: [{ src: 'resource.review.vdefault#manager-reads-own-department', val: { reader: 'alice', department: 'engineering' } }],
        },
        // alice manages engineering, not people: no rule allows, the default denies.
        { id: 'r-people', actions: { read: { ...deny(undefined), policy: 'resource.review.vdefault' }, delete: deny('nobody-deletes') }, outputs: [] },
      ])
      expect(body['inCallerContext'], name).toBe(true)
    }
  })

  it('writes one record per handler check, naming the first denied resource, action and rule', async () => {
    for (const [name, app] of apps) {
      await audit.flush()
      const before = records.length
      const { body } = await get(app, '/batch/r-people', 'hana')
      await audit.flush()
      const written = records.slice(before)
      const checkId = (body['check'] as Record<string, unknown>)['id']
      // The route check, then the handler's.
      expect(written.map((r) => [r.outcome, r.metadata?.['check'] ?? 'route']), name).toEqual([
        ['allowed', 'route'],
        ['denied', 'handler'],
      ])
      const [route, handler] = written as [AuditRecord, AuditRecord]
      expect(route.rule, name).toBe('resource.review.vdefault#hr-reads-all')
      expect(handler, name).toEqual(
        expect.objectContaining({
          callId: checkId,
          kind: 'decision',
          resource: { kind: 'review', id: 'r-eng' },
          action: 'delete',
          effect: 'EFFECT_DENY',
          policy: 'resource.review.vdefault',
          rule: 'resource.review.vdefault#nobody-deletes',
          workloadId: 'spiffe://example.org/ns/default/sa/employee-service',
          actorId: 'hana',
          transactionId: route.transactionId,
        }),
      )
      // The whole batch is in the record, as the engine saw it.
      expect(handler.checkResources?.inputs.resources.map((r) => r.resource.id), name).toEqual(['r-eng', 'r-people'])
      // A denial is explained in its record: the deciding rule is marked.
      const decided = handler.explanation?.resources[0]?.actions.find((a) => a.action === 'delete')?.rules.find((r) => r.decided)
      expect(decided, name).toEqual(expect.objectContaining({ policy: 'resource.review.vdefault', rule: 'nobody-deletes', matched: true, effect: 'EFFECT_DENY' }))
    }
  })
})
