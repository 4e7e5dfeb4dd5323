/**
 * `meshguard plan` (the built CLI, spawned): PlanResources requests as JSON lines, answered as the
 * real Cerbos PDP's HTTP API (`/api/plan/resources`) answers the same requests (operands of
 * commutative operators in any order: Cerbos's own order varies, see plan-compare.ts).
 */
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { runCliBinary } from '../support/run-cli.js'
import { startCerbosPdp, type CerbosPdp } from '../support/cerbos-pdp.js'
import { stabilisePlanResponse } from '../support/plan-compare.js'

const PLAN_POLICIES = join(fileURLToPath(new URL('../../conformance/cerbos/plan', import.meta.url)), 'policies')

const cli = runCliBinary

const MAGGIE = { id: 'maggie', roles: ['employee', 'manager'], attr: { geography: 'US', managed_geographies: ['US', 'CA'] } }
const HARRY = { id: 'harry', roles: ['employee', 'ex_intern', 'user'], attr: { teams: { team1: 'employee', team2: 'user' }, account_id: 'abc123' } }

/** Conditional, allowed, denied and no-match plans; several actions; the single-action form; scopes; snake_case fields. */
const REQUESTS = [
  { requestId: 'r1', includeMeta: true, actions: ['approve'], principal: MAGGIE, resource: { kind: 'leave_request', policyVersion: 'default' } },
  { includeMeta: true, action: 'report:allow-deny-deny', principal: MAGGIE, resource: { kind: 'leave_request' } },
  { actions: ['approve', 'approve:allow-allow', 'report:allow-deny'], principal: MAGGIE, resource: { kind: 'leave_request', attr: { geography: 'US' } } },
  { includeMeta: true, actions: ['map-exists', 'just-index', 'map-membership'], principal: HARRY, resource: { kind: 'leave_request' } },
  { includeMeta: true, actions: ['edit', 'debug'], principal: { id: 'u', roles: ['USER'], attr: { userQid: 'z0' } }, resource: { kind: 'x', scope: 'acme.hr.uk' } },
  { request_id: 'snake', include_meta: true, actions: ['nothing'], principal: { id: 'p', roles: ['r'], policy_version: 'default' }, resource: { kind: 'nokind', policy_version: 'default' } },
]

describe('meshguard plan', () => {
  let pdp: CerbosPdp | undefined
  beforeAll(async () => {
    pdp = await startCerbosPdp({ policyDir: PLAN_POLICIES, globals: { environment: 'test' } })
  })
  afterAll(async () => {
    await pdp?.stop()
  })

  it('answers each line exactly as the Cerbos PDP HTTP API does', async () => {
    const run = await cli(['plan', '--policies', PLAN_POLICIES, '--globals', '{"environment":"test"}'], REQUESTS.map((r) => JSON.stringify(r)).join('\n'))
    expect(run.stderr).toBe('')
    expect(run.code).toBe(0)
    const ours = run.stdout.split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as unknown)
    expect(ours).toHaveLength(REQUESTS.length)
    for (const [i, request] of REQUESTS.entries()) {
      const response = await fetch(`${pdp?.httpUrl}/api/plan/resources`, { method: 'POST', body: JSON.stringify(request) })
      const theirs = (await response.json()) as Record<string, unknown>
      expect(stabilisePlanResponse(ours[i]), `request ${i}`).toEqual(stabilisePlanResponse(theirs))
    }
  })

  it('answers a bad line with an error line (code 3, as the PDP) and carries on', async () => {
    const bad = { actions: ['a'], action: 'b', principal: MAGGIE, resource: { kind: 'leave_request' } }
    const run = await cli(['plan', '--policies', PLAN_POLICIES], `${JSON.stringify(bad)}\nnot json\n${JSON.stringify(REQUESTS[0])}\n`)
    const [first, second, third] = run.stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>)
    expect(first).toMatchObject({ code: 3, meshguardCode: 'ERR_AUTHZ_REQUEST_INVALID', line: 1 })
    const response = await fetch(`${pdp?.httpUrl}/api/plan/resources`, { method: 'POST', body: JSON.stringify(bad) })
    expect(((await response.json()) as { code: number }).code).toBe(3)
    expect(second).toMatchObject({ code: 3, reason: 'invalid_json', line: 2 })
    expect(third).toMatchObject({ requestId: 'r1', filter: { kind: 'KIND_CONDITIONAL' } })
  })

  it('rejects bad options with usage and exit code 2', async () => {
    for (const args of [['plan'], ['plan', '--policies', PLAN_POLICIES, '--schema-enforcement', 'loud']]) {
      const run = await cli(args, '')
      expect(run.code, args.join(' ')).toBe(2)
      expect(run.stderr).toContain('Usage: meshguard')
    }
  })
})
