/**
 * The remote engine against the real Cerbos PDP binary on loopback: the PDP's decisions come back
 * intact through @cerbos/grpc, and a PDP that goes away makes checks fail closed with a reason code.
 */
import { fileURLToPath } from 'node:url'
import { GRPC } from '@cerbos/grpc'
import { HTTP } from '@cerbos/http'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  EmbeddedEngine,
  RequestError,
  UnavailableError,
  type CheckResourcesRequest,
  type CheckResourcesResponse,
  type Principal,
  type Resource,
} from '@meshguard/core'
import { RemoteEngine } from '@meshguard/core/remote'
import { startCerbosPdp, type CerbosPdp } from '../support/cerbos-pdp.js'
import { CROSS_PRODUCT_CHECKS, SAMPLE_CHECKS } from './sample-checks.js'

const policyDir = fileURLToPath(new URL('../../examples/policies', import.meta.url))

let pdp: CerbosPdp | undefined
let engine: RemoteEngine | undefined
let embedded: EmbeddedEngine | undefined

beforeAll(async () => {
  pdp = await startCerbosPdp({ policyDir })
  engine = new RemoteEngine({ address: pdp.grpcAddress, timeoutMs: 5000 })
  embedded = await EmbeddedEngine.fromDirectory(policyDir)
})

/** What both engines must agree on: effects, attribution, derived roles, outputs, validation errors. */
function comparable(response: CheckResourcesResponse): unknown {
  return response.results.map((result) => ({
    resource: result.resource,
    actions: result.actions,
    // A Cerbos PDP does not name the deciding rule (`matchedRule` is the embedded engine's addition).
    matched: Object.fromEntries(Object.entries(result.meta?.actions ?? {}).map(([action, m]) => [action, { matchedPolicy: m.matchedPolicy, matchedScope: m.matchedScope }])),
    derivedRoles: [...(result.meta?.effectiveDerivedRoles ?? [])].sort(),
    outputs: result.outputs,
    validationErrors: result.validationErrors,
  }))
}

afterAll(async () => {
  await engine?.close()
  await pdp?.stop()
})

describe('RemoteEngine against a real Cerbos PDP', () => {
  it.each(SAMPLE_CHECKS)('$name', async ({ request, expected }) => {
    const response = await engine!.checkResources(request)
    expect(response.requestId).toBe(request.requestId)
    expect(response.results.map((r) => r.actions)).toEqual(expected)
  })

  it.each(CROSS_PRODUCT_CHECKS.map((request) => [request.requestId, request] as const))(
    'decides %s exactly as the embedded engine on the same policies',
    async (_id, request) => {
      const [remote, local] = await Promise.all([engine!.checkResources(request), embedded!.checkResources(request)])
      expect(comparable(remote)).toEqual(comparable(local))
    },
  )

  it('returns meta (matched policy, derived roles) and outputs', async () => {
    const principal: Principal = {
      id: 'spiffe://meshguard.example/ns/hr/sa/employee-service',
      roles: ['employee-service'],
      attr: { act: { user: { id: 'alice', roles: ['employee', 'manager'], attr: { department: 'engineering' } } } },
    }
    const resource: Resource = { kind: 'review', id: 'rv-1', attr: { department: 'engineering' } }
    const request: CheckResourcesRequest = {
      requestId: 'meta',
      includeMeta: true,
      principal,
      resources: [{ resource, actions: ['read', 'delete'] }],
    }
    const [result] = (await engine!.checkResources(request)).results
    expect(result?.actions).toEqual({ read: 'EFFECT_ALLOW', delete: 'EFFECT_DENY' })
    expect(result?.meta?.actions['read']?.matchedPolicy).toBe('resource.review.vdefault')
    expect(result?.meta?.effectiveDerivedRoles).toContain('manager_in_department')
    // Cerbos echoes the request's (empty) policy version and scope.
    expect(result?.resource).toEqual({ kind: 'review', id: 'rv-1', policyVersion: '', scope: '' })
  })

  it('accepts a ready @cerbos/grpc or @cerbos/http client instead of an address', async () => {
    const grpc = new GRPC(pdp!.grpcAddress, { tls: false })
    const http = new HTTP(pdp!.httpUrl)
    try {
      for (const client of [grpc, http]) {
        const viaClient = new RemoteEngine({ client, timeoutMs: 5000 })
        for (const { request, expected } of SAMPLE_CHECKS) {
          expect((await viaClient.checkResources(request)).results.map((r) => r.actions)).toEqual(expected)
        }
        await viaClient.close()
      }
    } finally {
      grpc.close()
    }
  })

  it('turns a request the PDP rejects into a RequestError, never a decision', async () => {
    const invalid: CheckResourcesRequest = {
      principal: { id: '', roles: [] },
      resources: [{ resource: { kind: 'review', id: 'r1' }, actions: ['read'] }],
    }
    const error = await engine!.checkResources(invalid).then(
      () => undefined,
      (e: unknown) => e,
    )
    expect(error).toBeInstanceOf(RequestError)
    expect((error as RequestError).reason).toBe('pdp_rejected_request')
  })

  it('fails closed with a reason code once the PDP is gone', async () => {
    await pdp!.stop()
    const [check] = SAMPLE_CHECKS
    let error: unknown
    try {
      await engine!.checkResources(check!.request)
    } catch (e) {
      error = e
    }
    expect(error).toBeInstanceOf(UnavailableError)
    expect(['pdp_unavailable', 'pdp_timeout']).toContain((error as UnavailableError).reason)
    expect((error as UnavailableError).httpStatus).toBe(503)
  })
})
