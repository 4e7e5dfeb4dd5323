/**
 * Identity across real HTTP hops on loopback, with nothing but core's identity and context modules:
 * gateway (the test) → employee-service → review-service, on behalf of a user. The handlers run inside
 * `callerContext`, so the outbound call finds the actor and transaction without threading them.
 */
import type { Server } from 'node:http'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { callerContext } from '../../packages/core/src/context/index.js'
import { createIdentityVerifier } from '../../packages/core/src/identity/index.js'
import { createIdentityFixture, serviceId, type IdentityFixture } from '../support/identity.js'
import { startVerifyingService } from '../support/verifying-service.js'

describe('identity over real HTTP hops', () => {
  let ids: IdentityFixture
  const servers: Server[] = []
  let employeeUrl: string
  let mode: 'mint' | 'replay' | 'swap-actor' = 'mint'

  beforeAll(async () => {
    ids = await createIdentityFixture({ services: ['gateway', 'employee-service', 'review-service'] })
    const review = await startVerifyingService(createIdentityVerifier(ids.verifierOptions('review-service')), async () => {
      const caller = callerContext.current()
      return { workload: caller?.workload.id, actor: caller?.actor?.id, chain: caller?.delegation.workloads, txn: caller?.transactionId }
    })
    const employeeIdentity = ids.workloadIdentity('employee-service')
    const employee = await startVerifyingService(createIdentityVerifier(ids.verifierOptions('employee-service')), async (req) => {
      let headers: Record<string, string>
      if (mode === 'replay') {
        // A compromised service replays its inbound credentials at the next hop.
        headers = { authorization: req.headers.authorization ?? '', 'x-meshguard-actor': String(req.headers['x-meshguard-actor']) }
      } else {
        headers = await employeeIdentity.headersFor({ audience: serviceId('review-service'), ...callerContext.outbound() })
        if (mode === 'swap-actor') headers['x-meshguard-actor'] = await ids.mintActorToken('hana')
      }
      const res = await fetch(`${review.url}/reviews/1`, { headers, redirect: 'manual' })
      return { status: res.status, body: await res.json() }
    })
    servers.push(review.server, employee.server)
    employeeUrl = employee.url
  })
  afterAll(async () => {
    await Promise.all(servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))))
  })

  const call = async () => {
    const headers = await ids.headers({ from: 'gateway', to: 'employee-service', actor: 'alice', transactionId: 'txn-hop-1' })
    const res = await fetch(`${employeeUrl}/employees/alice/review`, { headers })
    return { status: res.status, body: (await res.json()) as { status: number; body: Record<string, unknown> } }
  }

  it('carries the user, the call chain and the transaction to the second hop', async () => {
    mode = 'mint'
    const { status, body } = await call()
    expect(status).toBe(200)
    expect(body).toEqual({
      status: 200,
      body: { workload: serviceId('employee-service'), actor: 'alice', chain: [serviceId('gateway')], txn: 'txn-hop-1' },
    })
  })

  it('refuses inbound credentials replayed at the next hop', async () => {
    mode = 'replay'
    expect((await call()).body).toEqual({ status: 401, body: { reason: 'aud_mismatch' } })
  })

  it('refuses a hop that swaps in another user', async () => {
    mode = 'swap-actor'
    expect((await call()).body).toEqual({ status: 401, body: { reason: 'actor_binding_mismatch' } })
  })

  it('refuses a request without the user at a user route', async () => {
    const headers = await ids.headers({ from: 'gateway', to: 'employee-service' })
    const res = await fetch(`${employeeUrl}/employees/alice/review`, { headers })
    expect([res.status, await res.json()]).toEqual([401, { reason: 'actor_required' }])
  })
})
