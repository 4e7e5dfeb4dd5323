/**
 * The Txn-Token threats (T34–T40 of docs/security-model.md): what carrying a Txn-Token instead of
 * the user's access token removes, and the one class that remains (T40), each asserting the stable
 * reason code or the principal a policy would see. test/identity/txn-hop.test.ts runs the edge
 * (exchange, 403/503, replacement) over real HTTP.
 */
import { beforeAll, describe, expect, it } from 'vitest'
import { MeshguardError } from '../../packages/core/src/errors.js'
import {
  actorTokenOf,
  createIdentityVerifier,
  sha256Base64url,
  txnTokenOf,
  type IdentityVerifier,
} from '../../packages/core/src/identity/index.js'
import { edgeCallerOf, withIssuedTxnToken } from '../../packages/core/src/identity/verify/edge-caller.js'
import { createEdgeVerifier } from '../../packages/core/src/identity/verify/edge-verifier.js'
import { checkScope } from '../../packages/core/src/pipeline/scope.js'
import { createIdentityFixture, generateFixtureKey, serviceId, type IdentityFixture } from '../support/identity.js'
import { createTxnTokenFixture, payloadOf, type TxnTokenFixture } from '../support/txn-tokens.js'

async function reason(promise: Promise<unknown>): Promise<string> {
  const outcome = await promise.then(
    () => undefined,
    (err: unknown) => err,
  )
  if (outcome === undefined) throw new Error('expected a refusal, but it succeeded')
  expect(outcome).toBeInstanceOf(MeshguardError)
  return (outcome as MeshguardError).reason
}

let ids: IdentityFixture
let tts: TxnTokenFixture
/** An inner hop in Txn-Token mode: it trusts the TTS and no access-token issuer. */
let atReview: IdentityVerifier
const REVIEW = serviceId('review-service')
const now = (): number => Math.floor(Date.now() / 1000)

beforeAll(async () => {
  ids = await createIdentityFixture()
  tts = createTxnTokenFixture(ids)
  atReview = createIdentityVerifier({ audience: REVIEW, trust: { workloads: ids.trust().workloads, txnTokens: tts.trust() } })
})

const hop = (txnToken: string, from = 'employee-service') => tts.headers({ from, to: 'review-service', txnToken })

describe('Txn-Token threats', () => {
  it('T34 the user access token never leaves the edge, and an inner hop accepts none', async () => {
    const accessToken = await ids.mintActorToken('alice')
    const edge = createEdgeVerifier({ trust: { workloads: [], actors: ids.trust().actors } })
    const atEdge = edgeCallerOf(await edge.verify({ method: 'GET', url: 'https://api.example/reviews/1', headers: { authorization: `Bearer ${accessToken}` } }), 'txn-1')
    const txnToken = await tts.mint()
    const exchanged = withIssuedTxnToken(atEdge, { token: txnToken, txn: String(payloadOf(txnToken)['txn']), scope: ['review.read'], expiresAt: Date.now() + 60_000 }, serviceId('gateway'))
    // After the exchange the edge caller holds no access token: nothing can forward it.
    expect(actorTokenOf(exchanged as never)).toBeUndefined()
    expect(txnTokenOf(exchanged as never)).toBe(txnToken)
    const headers = await ids.workloadIdentity('gateway').headersFor({ audience: serviceId('employee-service'), txnToken, actor: accessToken })
    expect(Object.values(headers).join(' ')).not.toContain(accessToken)
    // A leaked access token replayed at an inner hop: no access-token issuer is trusted there.
    const workload = await ids.mintWorkloadToken('employee-service', { audience: REVIEW, actorToken: accessToken })
    expect(await reason(atReview.verify({ authorization: `Bearer ${workload}`, 'x-meshguard-actor': accessToken }))).toBe('unknown_issuer')
  })

  it('T35 an expired Txn-Token replayed is refused, also after a cached success', async () => {
    expect(await reason(atReview.verify(await hop(await tts.mint({ now: now() - 600 }))))).toBe('txn_token_expired')
    let clock = Date.now()
    const cached = createIdentityVerifier({ audience: REVIEW, trust: { workloads: ids.trust().workloads, txnTokens: tts.trust() }, clock: () => clock })
    const headers = await tts.headers({ from: 'employee-service', to: 'review-service', txnToken: await tts.mint({ lifetime: 30 }), workload: { lifetime: 900 } })
    await cached.verify(headers)
    clock += 120_000
    expect(await reason(cached.verify(headers))).toBe('txn_token_expired')
  })

  it('T36 a Txn-Token spliced onto another call, stripped from its own, or sent beside an access token', async () => {
    const mine = await tts.mint()
    const theirs = await hop(await tts.mint())
    expect(await reason(atReview.verify({ ...theirs, 'txn-token': mine }))).toBe('txn_token_unbound')
    const unbound = await ids.mintWorkloadToken('employee-service', { audience: REVIEW, transactionId: String(payloadOf(mine)['txn']) })
    expect(await reason(atReview.verify({ authorization: `Bearer ${unbound}`, 'txn-token': mine }))).toBe('txn_token_unbound')
    const stripped = await hop(mine)
    delete stripped['txn-token']
    expect(await reason(atReview.verify(stripped))).toBe('txn_token_missing')
    expect(await reason(atReview.verify({ ...(await hop(mine)), 'x-meshguard-actor': await ids.mintActorToken('alice') }))).toBe('txn_token_conflict')
  })

  it('T37 a Txn-Token of another trust domain, or signed by another TTS', async () => {
    expect(await reason(atReview.verify(await hop(await tts.mint({ aud: 'partner.example' }))))).toBe('txn_token_aud')
    const foreign = createTxnTokenFixture(ids, { trustDomain: 'partner.example' })
    expect(await reason(atReview.verify(await hop(await foreign.mint({ aud: 'example.org' }))))).toBe('txn_token_untrusted')
    expect(await reason(atReview.verify(await hop(await tts.mint({ signWith: generateFixtureKey('ES256') }))))).toBe('txn_token_signature')
  })

  it('T38 a token of another kind in the Txn-Token slot, or a Txn-Token in the workload slot', async () => {
    const accessToken = await ids.mintActorToken('alice')
    expect(await reason(atReview.verify(await hop(accessToken)))).toBe('txn_token_typ')
    expect(await reason(atReview.verify(await hop(await tts.mint({ header: { typ: 'JWT' } }))))).toBe('txn_token_typ')
    const txnToken = await tts.mint()
    expect(await reason(atReview.verify({ authorization: `Bearer ${txnToken}` }))).toBe('unknown_issuer')
  })

  it('T39 a route purpose the Txn-Token was not issued for', async () => {
    const caller = await atReview.verify(await hop(await tts.mint({ scope: 'profile.read' })))
    expect(() => checkScope(caller, ['review.read'])).toThrow(expect.objectContaining({ reason: 'insufficient_scope', httpStatus: 403 }))
    // A scope named only in the Txn-Token's other claims grants nothing.
    const sneaky = await atReview.verify(await hop(await tts.mint({ scope: 'profile.read', claims: { scp: ['review.read'] }, tctx: { scope: 'review.read' } })))
    expect(() => checkScope(sneaky, ['review.read'])).toThrow(expect.objectContaining({ reason: 'insufficient_scope' }))
  })

  it('T40 remains: a compromised hop can reuse a Txn-Token it received, but only as itself', async () => {
    // orders received alice's Txn-Token legitimately and replays it at review-service with its own key.
    const txnToken = await tts.mint()
    const replayed = await atReview.verify(await hop(txnToken, 'orders'))
    // Accepted, but the principal names the compromised hop: policies that check the caller still refuse it.
    expect(replayed.principal.id).toBe(serviceId('orders'))
    expect((replayed.principal.attr?.['txn'] as { req_wl: string }).req_wl).toBe(serviceId('gateway'))
    // It cannot pose as employee-service without employee-service's key.
    const forged = await ids.mintWorkloadToken('orders', {
      audience: REVIEW,
      transactionId: String(payloadOf(txnToken)['txn']),
      claims: { iss: serviceId('employee-service'), sub: serviceId('employee-service'), tth: sha256Base64url(txnToken) },
    })
    expect(await reason(atReview.verify({ authorization: `Bearer ${forged}`, 'txn-token': txnToken }))).toBe('unknown_key')
  })
})
