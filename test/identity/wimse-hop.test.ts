/**
 * One WIMSE hop end to end over real HTTP on 127.0.0.1: the outbound client (@meshguard/client with
 * core's WIMSE minting side) calls an Express callee that trusts only the WIT issuer of its trust
 * domain; the Txn-Token travels bound by `tth`, and the policy sees the workload and the user.
 */
import { createMeshguardFetch } from '@meshguard/client'
import { createWimseIdentity, staticWitSource } from '@meshguard/core/wimse'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createIdentityFixture } from '../support/identity.js'
import { createTxnTokenFixture, userContext, type TxnTokenFixture } from '../support/txn-tokens.js'
import { createWimseFixture, type WimseFixture } from '../support/wimse.js'
import { startWimseService, type WimseService } from '../support/wimse-service.js'

let fx: WimseFixture
let tts: TxnTokenFixture
let callee: WimseService

beforeAll(async () => {
  fx = createWimseFixture()
  tts = createTxnTokenFixture(await createIdentityFixture({ services: ['gateway'] }))
  callee = await startWimseService((origin) => ({ trust: { workloadIssuers: [fx.trust()], txnTokens: tts.trust() }, wimse: { origins: [origin] } }))
})
/** Closes what beforeAll started: it may have failed before starting the callee. */
async function closeStarted(started: WimseService | undefined): Promise<void> {
  await started?.close()
}

afterAll(() => closeStarted(callee))

describe('a WIMSE hop', () => {
  it('authorizes the caller by its WIT and the user by the bound Txn-Token, request after request', async () => {
    const credential = await fx.credential('employee-service')
    const txnToken = await tts.mint({ sub: 'alice', tctx: userContext('alice') })
    const fetch = createMeshguardFetch({
      identity: createWimseIdentity({ source: staticWitSource(credential) }),
      destinations: { [callee.url]: 'spiffe://example.org/ns/default/sa/review-service' },
      acting: () => ({ txnToken }),
    })
    for (let i = 0; i < 3; i++) {
      const response = await fetch(`${callee.url}/reviews/r-eng?round=${i}`)
      expect([response.status, await response.json()]).toEqual([200, { workload: credential.sub, actor: 'alice' }])
    }
    const denied = await fetch(`${callee.url}/reviews/r-people`)
    expect(denied.status).toBe(403)
  })

  it('is refused by the callee when the caller holds a WIT of an untrusted domain', async () => {
    const credential = await createWimseFixture({ trustDomain: 'partner.example' }).credential('employee-service')
    const fetch = createMeshguardFetch({
      identity: createWimseIdentity({ source: staticWitSource(credential) }),
      destinations: { [callee.url]: 'spiffe://example.org/ns/default/sa/review-service' },
      acting: () => undefined,
    })
    const response = await fetch(`${callee.url}/me`)
    expect([response.status, response.headers.get('www-authenticate'), ((await response.json()) as { reason: string }).reason]).toEqual([401, 'WPT', 'wit_untrusted_domain'])
  })
})
