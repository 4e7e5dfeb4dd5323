/**
 * Revocation over real HTTP on loopback: two hops (employee-service → review-service) poll one
 * revocation list; a session revoked on it stops working at both hops within the list's `maxAgeMs`,
 * including for token pairs the hops have cached.
 */
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { callerContext } from '../../packages/core/src/context/index.js'
import { createIdentityVerifier, type IdentityVerifier, type RevocationEntry, type TrustEvent } from '../../packages/core/src/identity/index.js'
import { createIdentityFixture, serviceId, type IdentityFixture } from '../support/identity.js'
import { startVerifyingService } from '../support/verifying-service.js'

/** Waits (macrotask by macrotask) until the condition holds: background fetches are real HTTP. */
async function until(condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise((resolve) => setTimeout(resolve, 5))
}

/** The revocation list the hops poll. */
class ListServer {
  revoked: RevocationEntry[] = []
  down = false
  url = ''
  private readonly server: Server = createServer((_req, res) => {
    if (this.down) {
      res.writeHead(503).end()
      return
    }
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ revoked: this.revoked }))
  })
  async start(): Promise<void> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve))
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/revoked.json`
  }
  stop(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()))
  }
}

describe('revocation list polled by every hop', () => {
  let ids: IdentityFixture
  const list = new ListServer()
  const servers: Server[] = []
  let employeeUrl: string
  let reviewUrl: string
  let now = Date.now()
  const fetched = { employee: 0, review: 0 }

  beforeAll(async () => {
    ids = await createIdentityFixture({ services: ['gateway', 'employee-service', 'review-service'] })
    await list.start()
    const verifierFor = (name: string, hop: keyof typeof fetched): IdentityVerifier =>
      createIdentityVerifier({
        ...ids.verifierOptions(name),
        clock: () => now,
        trust: { ...ids.trust(), clock: () => now, onEvent: (e: TrustEvent) => e.type === 'revocation_list_fetched' && fetched[hop]++ },
        revocation: { list: { url: list.url, refreshMs: 30_000, maxAgeMs: 60_000 } },
      })
    const review = await startVerifyingService(verifierFor('review-service', 'review'), async () => ({ actor: callerContext.current()?.actor?.id }))
    const employeeIdentity = ids.workloadIdentity('employee-service')
    const employee = await startVerifyingService(verifierFor('employee-service', 'employee'), async () => {
      const headers = await employeeIdentity.headersFor({ audience: serviceId('review-service'), ...callerContext.outbound() })
      const res = await fetch(`${review.url}/reviews/1`, { headers })
      return { status: res.status, body: await res.json() }
    })
    servers.push(review.server, employee.server)
    employeeUrl = employee.url
    reviewUrl = review.url
  })
  afterAll(async () => {
    await Promise.all(servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))))
    await list.stop()
  })

  const callWith = async (headers: Record<string, string>, url = `${employeeUrl}/employees/alice/review`) => {
    const res = await fetch(url, { headers })
    return { status: res.status, body: await res.json() }
  }

  /** Headers of a hop from `from` to `to` acting for the given actor token. */
  const hop = async (from: string, to: string, actorToken: string): Promise<Record<string, string>> => ({
    authorization: `Bearer ${await ids.mintWorkloadToken(from, { audience: to, actorToken, lifetime: 900 })}`,
    'x-meshguard-actor': actorToken,
  })

  it('a revoked session stops working at both hops within maxAgeMs, cached pairs included', async () => {
    const session = await ids.mintActorToken('alice', { claims: { sid: 'session-1' }, lifetime: 3600 })
    const other = await ids.mintActorToken('ed', { claims: { sid: 'session-2' }, lifetime: 3600 })
    const headers = await hop('gateway', 'employee-service', session)
    const otherHeaders = await hop('gateway', 'employee-service', other)
    expect(await callWith(headers)).toEqual({ status: 200, body: { status: 200, body: { actor: 'alice' } } })
    // Twice: the first hop now answers this pair from its verification cache.
    expect(await callWith(headers)).toEqual({ status: 200, body: { status: 200, body: { actor: 'alice' } } })

    list.revoked = [{ iss: ids.userIssuer.issuer, sid: 'session-1' }]
    // Past refreshMs: the next request is answered from the copy it has and refreshes it behind.
    now += 31_000
    const before = { ...fetched }
    await callWith(otherHeaders)
    await until(() => fetched.employee === before.employee + 1 && fetched.review === before.review + 1)
    expect(await callWith(headers)).toEqual({ status: 401, body: { reason: 'token_revoked' } })
    // The second hop refuses it too, on its own: employee-service's call for the revoked session.
    expect(await callWith(await hop('employee-service', 'review-service', session), `${reviewUrl}/reviews/1`)).toEqual({
      status: 401,
      body: { reason: 'token_revoked' },
    })
    expect(await callWith(otherHeaders)).toEqual({ status: 200, body: { status: 200, body: { actor: 'ed' } } })
  })

  it('refuses every token once the list is older than maxAgeMs and cannot be fetched', async () => {
    const headers = await ids.headers({ from: 'gateway', to: 'employee-service', actor: 'hana' })
    expect((await callWith(headers)).status).toBe(200)
    list.down = true
    now += 61_000
    expect(await callWith(headers)).toEqual({ status: 503, body: { reason: 'revocation_unavailable' } })
    list.down = false
    now += 6_000 // past the cooldown after the failed fetch
    expect((await callWith(headers)).status).toBe(200)
  })
})
