/**
 * T27–T30 over real HTTP on 127.0.0.1, against every adapter (Express 5 and 4, Fastify, Nest on
 * both platforms) over one guard with the real verifier, the real engine and the sample policies:
 * what a caller asserts about itself never grants, a presenter's own chain is no evidence, a
 * `__proto__` claim is inert, and two issuers' users with one `sub` stay two users.
 */
import { createGuard, createIdentityVerifier, EmbeddedEngine, DEFAULT_ACTOR_HEADER, type Guard } from '@meshguard/core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startAllAdapters } from '../adapters/all-drivers.js'
import { contractEngine, POLICY_DIR, SERVICE, sendContractCase, type ContractCase } from '../adapters/contract.js'
import type { RunningApp } from '../adapters/drivers.js'
import {
  createIdentityFixture,
  generateFixtureKey,
  serviceId,
  USER_ISSUER,
  type ActorSpec,
  type FixtureKey,
  type IdentityFixture,
  type WorkloadTokenSpec,
} from '../support/identity.js'

const PARTNER = 'https://partner-idp.example.net'

let ids: IdentityFixture
let partner: FixtureKey
let apps = new Map<string, RunningApp>()

beforeAll(async () => {
  ids = await createIdentityFixture()
  partner = generateFixtureKey('ES256', 'partner-1')
  const trust = ids.trust()
  trust.actors = [...(trust.actors ?? []), { issuer: PARTNER, keys: { jwks: { keys: [partner.publicJwk] } }, audiences: ['meshguard'] }]
  const guard: Guard = createGuard({
    engine: contractEngine(await EmbeddedEngine.fromDirectory(POLICY_DIR)),
    identity: createIdentityVerifier({ audience: serviceId(SERVICE), trust }),
    service: SERVICE,
  })
  apps = await startAllAdapters(guard)
})

afterAll(async () => {
  await Promise.all([...apps.values()].map((app) => app.close()))
})

/** Headers of `from` calling review-service for `actorToken`, with extra workload-token options. */
async function hop(from: string, actorToken: string, extra: Partial<WorkloadTokenSpec> = {}): Promise<[string, string][]> {
  const workload = await ids.mintWorkloadToken(from, { audience: SERVICE, actorToken, ...extra })
  return [
    ['authorization', `Bearer ${workload}`],
    [DEFAULT_ACTOR_HEADER, actorToken],
  ]
}

/** Sends one case to every adapter and returns each one's status and body. */
async function everywhere(testCase: Omit<ContractCase, 'headers' | 'status'>, headers: [string, string][]): Promise<{ status: number; body: Record<string, unknown> }[]> {
  const answers = []
  for (const app of apps.values()) {
    const answer = await sendContractCase(app, testCase, headers)
    answers.push({ status: answer.status, body: answer.body })
  }
  expect(answers).toHaveLength(5)
  return answers
}

const review = { name: 'review', method: 'GET', path: '/reviews/r-eng' } as const

describe('authority over HTTP on every adapter', () => {
  it('T27 a workload that claims another service\'s role in its own token is still denied', async () => {
    const alice = await ids.mintActorToken('alice')
    // The gateway may not read reviews; it names itself employee-service, in both claim forms.
    for (const roles of [['employee-service'], 'employee-service', 'gateway employee-service']) {
      const answers = await everywhere(review, await hop('gateway', alice, { claims: { roles } }))
      for (const { status, body } of answers) expect([status, body['reason']]).toEqual([403, 'denied'])
    }
    // The control: employee-service itself is allowed.
    for (const { status } of await everywhere(review, await hop('employee-service', alice))) expect(status).toBe(200)
  })

  it('T28 an exchanged actor token presented with a self-written chain naming its rightful holder is refused', async () => {
    const forEmployee = await ids.mintActorToken('alice', { claims: { act: { sub: serviceId('employee-service') } } })
    const answers = await everywhere(review, await hop('orders', forEmployee, { chain: [serviceId('employee-service')] }))
    for (const { status, body } of answers) expect([status, body['reason'], body['tokenKind']]).toEqual([401, 'actor_workload_mismatch', 'actor'])
    for (const { status } of await everywhere(review, await hop('employee-service', forEmployee))) expect(status).toBe(200)
  })

  it('T29 a __proto__ claim lends the user no department', async () => {
    const polluted = JSON.parse('{"__proto__": {"department": "engineering"}}') as Record<string, unknown>
    const claims: Exclude<ActorSpec, string> = { sub: 'mallory', roles: ['employee', 'manager'], ...polluted }
    const mallory = await ids.mintActorToken(claims)
    const answers = await everywhere(review, await hop('employee-service', mallory, { claims: polluted }))
    for (const { status, body } of answers) expect([status, body['reason']]).toEqual([403, 'denied'])
  })

  it('T30 the same sub from two trusted issuers reaches the handler as two actors', async () => {
    const ours = await ids.mintActorToken('alice')
    const theirs = await ids.mintActorToken('alice', { signWith: partner, header: { kid: 'partner-1' }, claims: { iss: PARTNER } })
    const me = { name: 'me', method: 'GET', path: '/me' } as const
    for (const { status, body } of await everywhere(me, await hop('employee-service', ours))) expect([status, body['actor']]).toEqual([200, `${USER_ISSUER}#alice`])
    for (const { status, body } of await everywhere(me, await hop('employee-service', theirs))) expect([status, body['actor']]).toEqual([200, `${PARTNER}#alice`])
  })
})
