/**
 * The cross-adapter contract: the table in contract.ts, over real HTTP on 127.0.0.1, against Express,
 * Fastify, and Nest on both its platforms, all over one guard with the real identity verifier and the
 * real embedded engine. Every adapter must give the expected answer, and all must give the same
 * status, headers and problem body (bar the per-request decision id).
 */
import type { AuditLog, AuditRecord } from '@meshguard/core'
import { formatRouteTable } from '@meshguard/core/adapter'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { express4Package } from '../../packages/express/test/support/express4-app.js'
import type { IdentityFixture } from '../support/identity.js'
import { startAllAdapters } from './all-drivers.js'
import { CASES, expectContractAnswers, sendContractCase, type ContractAnswer } from './contract.js'
import { CLAIMS_CASES } from './claims-cases.js'
import { TXN_TOKEN_CASES } from './txn-cases.js'
import { WPT_CASES } from './wpt-cases.js'
import type { RunningApp } from './drivers.js'
import { createGuardFixture } from './guard-fixture.js'

let ids: IdentityFixture
let apps = new Map<string, RunningApp>()
let records: AuditRecord[]
let audit: AuditLog | undefined

beforeAll(async () => {
  const fixture = await createGuardFixture()
  ;({ ids, records, audit } = fixture)
  apps = await startAllAdapters(fixture.guard)
})

afterAll(async () => {
  await Promise.all([...apps.values()].map((app) => app.close()))
  await audit?.close()
})

describe('adapter contract', () => {
  it('runs the Express 4 driver on Express 4', () => {
    expect(express4Package.version).toMatch(/^4\./)
  })

  // Every mode: the access-token table, the Txn-Token table, route claims in both, and the WIMSE (WIT + WPT) table.
  it.each([...CASES, ...TXN_TOKEN_CASES, ...CLAIMS_CASES, ...WPT_CASES].map((c) => [c.name, c] as const))('%s', async (_name, testCase) => {
    // One set of credentials per case, sent to every adapter, so only the adapter differs (single-use
    // proofs: one fresh set per adapter from the same recipe).
    const headers = testCase.perApp === true ? undefined : await testCase.headers(ids)
    const answers: Record<string, ContractAnswer> = {}
    for (const [name, app] of apps) answers[name] = await sendContractCase(app, testCase, headers ?? (await testCase.headers(ids)))

    expectContractAnswers(testCase, answers)
  })

  it('lists scope and claims requirements in every adapter\'s route table, the same way', () => {
    const tables = [...apps].map(([name, app]) => {
      const routes = app.routes!().filter((r) => (r.scope !== undefined || r.claims !== undefined) && r.method === 'GET')
      return [name, formatRouteTable(routes)] as const
    })
    const [, first] = tables[0]!
    expect(first).toMatch(/^GET +\/claimed\/:id +authorize +\(resolver\) +read +required +tenant=acme\|globex amr⊇mfa$/m)
    expect(first).toMatch(/^GET +\/scoped\/:id +authorize +\(resolver\) +read +required +review\.read$/m)
    expect(first).toMatch(/^GET +\/step-up\/:id +authorize .* acr=urn:example:mfa auth_time≤300s$/m)
    expect(first.split('\n')[0]).toMatch(/ SCOPE +CLAIMS$/)
    for (const [name, table] of tables) expect([name, table]).toEqual([name, first])
  })

  it('writes one audit record per plan, with its kind and no token', async () => {
    const testCase = CASES.find((c) => c.path === '/reviews' && c.status === 200)!
    const headers = await testCase.headers(ids)
    for (const [name, app] of apps) {
      await audit!.flush()
      const before = records.length
      expect((await sendContractCase(app, testCase, headers)).status, name).toBe(200)
      await audit!.flush()
      const written = records.slice(before)
      expect(written, name).toEqual([
        expect.objectContaining({ kind: 'decision', outcome: 'allowed', planKind: 'KIND_CONDITIONAL', action: 'read', resource: { kind: 'review', id: '_' } }),
      ])
      expect(JSON.stringify(written), name).not.toMatch(/eyJ/)
    }
  })

  it('audits every refusal under the decision id its problem body names', async () => {
    const testCase = CASES.find((c) => c.reason === 'denied')!
    const headers = await testCase.headers(ids)
    const decisionIds: string[] = []
    for (const app of apps.values()) decisionIds.push(String((await sendContractCase(app, testCase, headers)).body['decisionId']))
    await audit!.flush()
    for (const id of decisionIds) {
      expect(records.filter((r) => r.callId === id)).toEqual([expect.objectContaining({ kind: 'decision', outcome: 'denied', policy: 'resource.review.vdefault' })])
    }
    expect(new Set(decisionIds).size).toBe(decisionIds.length)
  })
})
