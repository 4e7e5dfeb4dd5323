/**
 * The outbound client end to end: three real services on 127.0.0.1, one per adapter.
 *
 *   edge (this test) ─▶ gateway (Express) ─▶ employee-service (Fastify) ─▶ review-service (NestJS)
 *
 * The edge acts for a user (an explicit `runWithActor` scope); every hop verifies the token minted for
 * it, authorizes with its own policy, and calls the next hop through `createMeshguardFetch` inside the
 * caller context the adapter set. review-service's policy judges the user in principal.attr.act.user.
 */
import { context, ROOT_CONTEXT, trace, TraceFlags } from '@opentelemetry/api'
import { W3CTraceContextPropagator } from '@opentelemetry/core'
import { callerContext, DEFAULT_ACTOR_HEADER, DEFAULT_TRANSACTION_HEADER } from '@meshguard/core'
import { createMeshguardFetch, type MeshguardFetch } from '@meshguard/client'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

import { TestContextManager } from '../../packages/client/test/support/otel-context.js'
import { createIdentityFixture, type IdentityFixture } from '../support/identity.js'
import {
  startEmployeeService,
  startGateway,
  startOutside,
  startReviewService,
  type ReportView,
  type RunningService,
} from './support/services.js'
import type { TraceLog } from './support/trace.js'

const TRACE_ID = '0af7651916cd43dd8448eb211c80319c'
const EDGE_SPAN = trace.setSpanContext(ROOT_CONTEXT, { traceId: TRACE_ID, spanId: 'b7ad6b7169203331', traceFlags: TraceFlags.SAMPLED })
const IDENTITY_HEADERS = ['authorization', DEFAULT_ACTOR_HEADER, DEFAULT_TRANSACTION_HEADER]

let ids: IdentityFixture
let outside: Awaited<ReturnType<typeof startOutside>>
let review: RunningService
let employee: RunningService
let gateway: RunningService
let edge: MeshguardFetch
const traces: TraceLog = new Map()

beforeAll(async () => {
  context.setGlobalContextManager(new TestContextManager())
  const propagator = new W3CTraceContextPropagator()
  ids = await createIdentityFixture({ services: ['edge', 'gateway', 'employee-service', 'review-service'] })
  const deps = { ids, propagator, traces }
  outside = await startOutside()
  review = await startReviewService(deps, outside.origin)
  employee = await startEmployeeService(deps, review.origin, outside.origin)
  gateway = await startGateway(deps, employee.origin)
  edge = createMeshguardFetch({
    identity: ids.workloadIdentity('edge'),
    destinations: { [gateway.origin]: ids.services.gateway!.id, [employee.origin]: ids.services['employee-service']!.id },
    propagator,
  })
})

afterAll(async () => {
  // Whichever were started: beforeAll may have failed part-way.
  const started: ({ close(): Promise<void> } | undefined)[] = [edge, gateway, employee, review, outside]
  await Promise.all(started.map(async (service) => service?.close()))
  context.disable()
})

/** GET `url` from the edge, for `user`, inside the edge's span. */
/** A JSON answer of a hop: its own fields plus, for chained calls, the next hop's answer. */
interface HopBody {
  downstream?: HopBody
  [field: string]: unknown
}

async function asUser(user: 'alice' | 'hana', url: string, transactionId?: string): Promise<{ status: number; body: HopBody }> {
  const token = await ids.mintActorToken(user)
  return callerContext.runWithActor(
    token,
    async () =>
      context.with(EDGE_SPAN, async () => {
        const res = await edge(url)
        return { status: res.status, body: (await res.json()) as HopBody }
      }),
    { transactionId },
  )
}

describe('gateway (Express) → employee-service (Fastify) → review-service (NestJS)', () => {
  it('an allowed chain succeeds, and review-service sees the user, the calling workload and the delegation chain', async () => {
    const { status, body } = await asUser('alice', `${gateway.origin}/reviews/42`, 'txn-e2e-alice')
    expect(status).toBe(200)
    expect(body).toMatchObject({ service: 'gateway', user: 'alice', downstream: { service: 'employee-service', user: 'alice' } })
    const report = body.downstream?.downstream as ReportView | undefined
    expect(report).toEqual({
      service: 'review-service',
      reportId: '42',
      workload: ids.services['employee-service']!.id,
      user: 'alice',
      chain: [ids.services.gateway!.id, ids.services.edge!.id],
      transactionId: 'txn-e2e-alice',
    })
  })

  it("review-service's policy judges the user in principal.attr.act.user: another department is denied", async () => {
    const { status, body } = await asUser('hana', `${gateway.origin}/reviews/42`)
    expect(status).toBe(403)
    expect(body.downstream?.downstream).toMatchObject({ status: 403, code: 'ERR_AUTHZ_DENIED' })
  })

  it('one trace id runs through all three services', async () => {
    traces.clear()
    await asUser('alice', `${gateway.origin}/reviews/7`)
    expect(Object.fromEntries(traces)).toEqual({
      gateway: [TRACE_ID],
      'employee-service': [TRACE_ID],
      'review-service': [TRACE_ID],
    })
  })

  it("employee-service replaying its own inbound token to review-service is rejected (audience)", async () => {
    const { body } = await asUser('alice', `${employee.origin}/replay`)
    expect(body).toMatchObject({ status: 401, problem: { code: 'ERR_AUTHZ_IDENTITY_INVALID', reason: 'aud_mismatch' } })
  })

  it('review-service checks the actor binding: a correctly minted token beside another user token is rejected', async () => {
    const otherActor = await ids.mintActorToken('ed')
    const { body } = await asUser('alice', `${employee.origin}/mismatch?otherActor=${encodeURIComponent(otherActor)}`)
    expect(body).toMatchObject({ status: 401, problem: { reason: 'actor_binding_mismatch' } })
  })

  it('a call to an unmapped host carries no identity headers', async () => {
    const before = outside.seen.length
    const { body } = await asUser('alice', `${employee.origin}/unmapped`)
    expect(body).toEqual({ status: 200, body: 'outside' })
    expect(outside.seen.length).toBe(before + 1)
    expect(IDENTITY_HEADERS.filter((name) => outside.seen.at(-1)?.[name] !== undefined)).toEqual([])
  })

  it('a redirect from a mapped callee to another origin loses the identity headers', async () => {
    const before = outside.seen.length
    const { body } = await asUser('alice', `${employee.origin}/redirect`)
    expect(body).toEqual({ status: 200, url: `${outside.origin}/landing`, redirected: true })
    expect(outside.seen.length).toBe(before + 1)
    expect(IDENTITY_HEADERS.filter((name) => outside.seen.at(-1)?.[name] !== undefined)).toEqual([])
  })
})
