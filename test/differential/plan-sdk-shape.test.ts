/**
 * `toCerbosSdkPlan` gives exactly what the Cerbos JavaScript SDK (`@cerbos/http`) returns from the
 * real PDP for the same PlanResources request, so code written for the SDK's plans (Cerbos's ORM
 * adapters such as `@cerbos/orm-prisma`, which takes `{ queryPlan }` in this shape) takes
 * meshguard's plans unchanged. (The ORM adapters themselves need Node 22+ and their ORM, so they are
 * not run here.)
 */
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { HTTP } from '@cerbos/http'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { EmbeddedEngine, toCerbosSdkPlan, type PlanResourcesRequest } from '@meshguard/core'
import { startCerbosPdp, type CerbosPdp } from '../support/cerbos-pdp.js'

const PLAN_POLICIES = join(fileURLToPath(new URL('../../conformance/cerbos/plan', import.meta.url)), 'policies')
const MAGGIE = { id: 'maggie', roles: ['employee', 'manager'], attr: { geography: 'US', managed_geographies: ['US', 'CA'] } }

/** Requests both sides take: meshguard's, and (less `includeMeta`) the SDK's, which takes JSON attributes and one of `actions` or `action`. */
const REQUESTS: (PlanResourcesRequest & Parameters<HTTP['planResources']>[0])[] = [
  { requestId: 'r1', includeMeta: true, actions: ['approve'], principal: MAGGIE, resource: { kind: 'leave_request', policyVersion: 'default' } },
  // eslint-disable-next-line @typescript-eslint/no-deprecated -- the single-action form is one of the requests compared
  { requestId: 'r2', includeMeta: true, action: 'report:allow-deny-deny', principal: MAGGIE, resource: { kind: 'leave_request' } },
  { requestId: 'r3', actions: ['approve:false-in-and-condition'], principal: MAGGIE, resource: { kind: 'leave_request' } },
  { requestId: 'r4', includeMeta: true, actions: ['edit', 'debug'], principal: { id: 'u', roles: ['USER'], attr: { userQid: 'z0' } }, resource: { kind: 'x', scope: 'acme.hr.uk' } },
  { requestId: 'r5', includeMeta: true, actions: ['read'], principal: { id: 'donald_duck', roles: ['employee', 'user'] }, resource: { kind: 'contact' } },
]

describe('toCerbosSdkPlan', () => {
  let pdp: CerbosPdp | undefined
  let engine: EmbeddedEngine
  beforeAll(async () => {
    ;[pdp, engine] = await Promise.all([
      startCerbosPdp({ policyDir: PLAN_POLICIES, globals: { environment: 'test' } }),
      EmbeddedEngine.fromDirectory(PLAN_POLICIES, { globals: { environment: 'test' } }),
    ])
  })
  afterAll(async () => {
    await pdp?.stop()
  })

  it('equals the SDK response of the PDP for the same request', async () => {
    const sdk = new HTTP(pdp!.httpUrl)
    for (const request of REQUESTS) {
      const { includeMeta, ...rest } = request
      const theirs = await sdk.planResources({ ...rest, includeMetadata: includeMeta === true })
      const ours = toCerbosSdkPlan(engine.planResourcesSync(request))
      expect({ ...ours, cerbosCallId: undefined }, request.requestId).toEqual({ ...JSON.parse(JSON.stringify(theirs)), cerbosCallId: undefined })
    }
  })
})
