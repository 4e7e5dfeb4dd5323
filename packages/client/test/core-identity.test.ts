import { callerContext, createIdentityVerifier, MintError, type IdentityVerifierOptions, type VerifiedCaller } from '@meshguard/core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

import { createIdentityFixture, type IdentityFixture } from '../../../test/support/identity.js'
import { createMeshguardFetch, type MeshguardFetch } from '../src/index.js'
import { startVerifyingServer } from './support/verifying-server.js'

// employee-service (this client) calls review-service (a verifying callee) while serving gateway.
let ids: IdentityFixture
/**
 * The fixture's verifier options for `name` with its trust as plain options: the fixture types the trust with
 * core's source, whose TrustBundle class the built declarations do not accept (private members); same options.
 */
const verifierOptions = (name: string): IdentityVerifierOptions => ({ ...ids.verifierOptions(name), trust: ids.trust() })
let callee: Awaited<ReturnType<typeof startVerifyingServer>>
let fetch: MeshguardFetch
let servingAlice: VerifiedCaller
/** Verifies alice's inbound call again: every verification is its own caller object. */
let verifyInbound: () => Promise<VerifiedCaller>

beforeAll(async () => {
  ids = await createIdentityFixture({ services: ['gateway', 'employee-service', 'review-service'] })
  callee = await startVerifyingServer(verifierOptions('review-service'))
  fetch = createMeshguardFetch({
    identity: ids.workloadIdentity('employee-service'),
    destinations: { [callee.origin]: ids.services['review-service']!.id },
  })
  // What employee-service's adapter would have verified for an inbound call from gateway for alice.
  const inbound = await ids.headers({ from: 'gateway', to: 'employee-service', actor: 'alice', transactionId: 'txn-alice-1' })
  const verifier = createIdentityVerifier(verifierOptions('employee-service'))
  verifyInbound = () => verifier.verify(inbound, { actor: 'required' })
  servingAlice = await verifyInbound()
})
afterAll(async () => {
  await Promise.all([fetch.close(), callee.close()])
})

async function call(path: string): Promise<number> {
  const res = await fetch(`${callee.origin}${path}`)
  await res.arrayBuffer()
  return res.status
}

describe('with core identity and callerContext', () => {
  it('acts for the caller being served: the callee verifies the token, the actor and the delegation chain', async () => {
    const status = await callerContext.run(servingAlice, async () => call('/on-behalf'))
    expect(status).toBe(200)
    expect(callee.seen.at(-1)).toMatchObject({
      ok: true,
      workload: ids.services['employee-service']!.id,
      actor: 'alice',
      chain: [ids.services.gateway!.id],
      transactionId: 'txn-alice-1',
    })
  })

  it('reuses the cached workload token for repeated calls to the same callee for the same caller', async () => {
    await callerContext.run(servingAlice, async () => {
      await call('/one')
      await call('/two')
    })
    const [first, second] = callee.seen.slice(-2)
    expect(first?.ok && second?.ok && first.authorization === second.authorization).toBe(true)
  })

  it('acts as the service itself in a runAsService job, even inside a request scope', async () => {
    await callerContext.run(servingAlice, async () => callerContext.runAsService(async () => call('/job')))
    expect(callee.seen.at(-1)).toMatchObject({ ok: true, workload: ids.services['employee-service']!.id, actor: undefined, chain: [] })
  })

  it('acts for an explicitly given actor in a runWithActor job', async () => {
    const hanaToken = await ids.mintActorToken('hana')
    await callerContext.runWithActor(hanaToken, async () => call('/job-for-hana'))
    expect(callee.seen.at(-1)).toMatchObject({ ok: true, actor: 'hana' })
  })

  it('acts as the service itself outside any scope', async () => {
    await call('/no-scope')
    expect(callee.seen.at(-1)).toMatchObject({ ok: true, actor: undefined })
  })

  it('refuses to forward the actor token of a request whose tokens have expired, before sending', async () => {
    // A long-lived job still holding the caller (and its actor token) after the tokens expired.
    const stale = await verifyInbound()
    stale.expiresAt = Date.now() - 1000
    const before = callee.seen.length
    const err: unknown = await callerContext.run(stale, async () => call('/stale')).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(MintError)
    expect(err).toMatchObject({ reason: 'actor_expired' })
    expect(callee.seen.length).toBe(before)
  })
})
