/**
 * The WIMSE threats (T46–T56 of docs/security-model.md): a callee that trusts one WIT issuer per
 * trust domain and proofs (WPT) per request, attacked over real HTTP on 127.0.0.1. Each row asserts
 * the status, the stable reason, and the `WWW-Authenticate: WPT` challenge (or, for roles, what the
 * policy sees).
 */
import { randomBytes } from 'node:crypto'
import { request } from 'undici'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createIdentityFixture, generateFixtureKey, type IdentityFixture } from '../support/identity.js'
import { createTxnTokenFixture, userContext, type TxnTokenFixture } from '../support/txn-tokens.js'
import { createWimseFixture, rawWpt, type WimseFixture, type WptSpec } from '../support/wimse.js'
import { startWimseService, type WimseService } from '../support/wimse-service.js'

let fx: WimseFixture
let foreign: WimseFixture
let ids: IdentityFixture
let tts: TxnTokenFixture
let callee: WimseService
let authorityCallee: WimseService

type Credential = Awaited<ReturnType<WimseFixture['credential']>>

beforeAll(async () => {
  fx = createWimseFixture()
  foreign = createWimseFixture({ trustDomain: 'partner.example' })
  ids = await createIdentityFixture({ services: ['caller', 'review-service'] })
  tts = createTxnTokenFixture(ids)
  callee = await startWimseService((origin) => ({
    trust: { workloadIssuers: [fx.trust()], txnTokens: tts.trust() },
    wimse: { origins: [origin] },
  }))
  authorityCallee = await startWimseService((origin) => ({
    trust: { workloadIssuers: [fx.trust({ attributeAuthority: true })], txnTokens: tts.trust() },
    wimse: { origins: [origin] },
  }))
})

afterAll(async () => {
  // Whichever were started: beforeAll may have failed part-way.
  const started: (WimseService | undefined)[] = [callee, authorityCallee]
  for (const service of started) await service?.close()
})

interface Answer {
  status: number
  reason: unknown
  challenge: string | undefined
  body: Record<string, unknown>
}

async function send(service: WimseService, path: string, headers: [string, string][]): Promise<Answer> {
  const response = await request(`${service.url}${path}`, { headers: headers.flat() })
  const body = (await response.body.json()) as Record<string, unknown>
  const challenge = response.headers['www-authenticate']
  return { status: response.statusCode, reason: body['reason'], challenge: Array.isArray(challenge) ? challenge.join(', ') : challenge, body }
}

/** The headers of a proof for `path` at `service`, from `cred`. */
async function proof(service: WimseService, path: string, cred: Credential, spec: Partial<WptSpec> = {}): Promise<[string, string][]> {
  return [
    ['workload-identity-token', cred.wit],
    ['authorization', `WPT ${await rawWpt(cred, { aud: service.url + path, ...spec })}`],
  ]
}

/** A 401 with the reason and the parameterless WPT challenge. */
function refusedWith(answer: Answer, reason: string): void {
  expect([answer.status, answer.reason, answer.challenge], JSON.stringify(answer.body)).toEqual([401, reason, 'WPT'])
}

describe('WIMSE threats', () => {
  it('T46 a stolen WIT is useless without its key: a proof signed with another key is refused', async () => {
    const victim = await fx.credential('payments')
    const attacker = generateFixtureKey('ES256')
    refusedWith(await send(callee, '/me', await proof(callee, '/me', victim, { signWith: attacker })), 'wpt_invalid')
    // The victim's own proof passes: the refusal is about the key, nothing else.
    expect((await send(callee, '/me', await proof(callee, '/me', victim))).status).toBe(200)
  })

  it('T47 a WIT from another trust domain is refused, however well signed', async () => {
    refusedWith(await send(callee, '/me', await proof(callee, '/me', await foreign.credential('payments'))), 'wit_untrusted_domain')
    // A WIT naming this domain but signed by the foreign issuer's key.
    const forged = await fx.credential('payments', { signWith: foreign.issuer })
    refusedWith(await send(callee, '/me', await proof(callee, '/me', forged)), 'wit_invalid')
  })

  it('T48 a replayed WPT is refused at the same callee', async () => {
    const cred = await fx.credential('orders')
    const headers = await proof(callee, '/me', cred)
    expect((await send(callee, '/me', headers)).status).toBe(200)
    refusedWith(await send(callee, '/me', headers), 'wpt_replay')
  })

  it('T49 a WPT made for another target (path or host) is refused; Host does not choose the audience', async () => {
    const cred = await fx.credential('orders')
    refusedWith(await send(callee, '/me', await proof(callee, '/reviews/r-eng', cred)), 'wpt_aud')
    const other = 'http://reviews.partner.example/me'
    refusedWith(await send(callee, '/me', [...(await proof(callee, '/me', cred, { aud: other })), ['host', 'reviews.partner.example']]), 'wpt_aud')
  })

  it('T50 a WPT bound (wth) to another WIT of the same key is refused', async () => {
    const first = await fx.credential('orders')
    // The issuer put the same key into a second WIT (another identifier): proofs do not carry over.
    const reissued = await fx.credential('payments', { claims: { cnf: { jwk: { ...(first.publicKey.export({ format: 'jwk' }) as object), alg: 'ES256' } } } })
    const wpt = await rawWpt(first, { aud: `${callee.url}/me` })
    refusedWith(await send(callee, '/me', [['workload-identity-token', reissued.wit], ['authorization', `WPT ${wpt}`]]), 'wpt_unbound')
  })

  it('T51 a Txn-Token not bound by tth (missing, stripped or swapped) is refused', async () => {
    const cred = await fx.credential('orders')
    const txnToken = await tts.mint({ sub: 'alice', tctx: userContext('alice') })
    const swapped = await tts.mint({ sub: 'hana', tctx: userContext('hana') })
    refusedWith(await send(callee, '/me', [...(await proof(callee, '/me', cred)), ['txn-token', txnToken]]), 'wpt_unbound')
    refusedWith(await send(callee, '/me', await proof(callee, '/me', cred, { txnToken })), 'wpt_unbound')
    refusedWith(await send(callee, '/me', [...(await proof(callee, '/me', cred, { txnToken })), ['txn-token', swapped]]), 'wpt_unbound')
    const employee = await fx.credential('employee-service')
    const bound = await send(callee, '/reviews/r-eng', [...(await proof(callee, '/reviews/r-eng', employee, { txnToken })), ['txn-token', txnToken]])
    expect([bound.status, bound.body['actor']]).toEqual([200, 'alice'])
  })

  it('T52 a WPT whose alg is not the WIT cnf.jwk.alg is refused', async () => {
    const cred = await fx.credential('orders', { proofAlg: 'ES256' })
    const edKey = generateFixtureKey('EdDSA')
    refusedWith(await send(callee, '/me', await proof(callee, '/me', cred, { signWith: edKey, header: { alg: 'EdDSA' } })), 'wpt_invalid')
    refusedWith(await send(callee, '/me', await proof(callee, '/me', cred, { header: { alg: 'none' } })), 'wpt_invalid')
  })

  it('T53 an expired WIT is refused even with a fresh WPT', async () => {
    const cred = await fx.credential('orders', { lifetime: -120 })
    refusedWith(await send(callee, '/me', await proof(callee, '/me', cred)), 'wit_expired')
  })

  it('T54 roles a WIT claims grant nothing unless its issuer is a configured attribute authority', async () => {
    const cred = await fx.credential('orders', { asserted: { roles: ['hr-admin'], attr: { clearance: 'top' } } })
    const plain = await send(callee, '/me', await proof(callee, '/me', cred))
    expect([plain.status, plain.body['roles'], (plain.body['attr'] as Record<string, unknown>)['wit']]).toEqual([200, ['orders'], undefined])
    const asserted = await send(authorityCallee, '/me', await proof(authorityCallee, '/me', cred))
    expect([asserted.status, asserted.body['roles'], (asserted.body['attr'] as Record<string, unknown>)['wit']]).toEqual([200, ['orders', 'hr-admin'], { clearance: 'top' }])
    // Roles in the WPT or in headers never count, even at the authority's callee.
    const loud = await fx.credential('orders')
    const headers = [...(await proof(authorityCallee, '/me', loud, { claims: { roles: ['hr-admin'] } })), ['x-meshguard-roles', 'hr-admin']] as [string, string][]
    const fromProof = await send(authorityCallee, '/me', headers)
    expect([fromProof.status, fromProof.body['roles']]).toEqual([200, ['orders']])
  })

  it('T55 a WPT-only callee refuses the self-signed Bearer profile (downgrade), with or without a WIT', async () => {
    const bearer = await ids.mintWorkloadToken('caller', { audience: 'review-service' })
    refusedWith(await send(callee, '/me', [['authorization', `Bearer ${bearer}`]]), 'wpt_required')
    const cred = await fx.credential('orders')
    refusedWith(await send(callee, '/me', [['workload-identity-token', cred.wit], ['authorization', `Bearer ${bearer}`]]), 'wpt_required')
    const none = await send(callee, '/me', [])
    expect([none.status, none.reason, none.challenge]).toEqual([401, 'token_missing', 'WPT'])
  })

  it('T56 duplicate WIMSE headers are refused, whichever one would be meant', async () => {
    const cred = await fx.credential('orders')
    const [wit, auth] = (await proof(callee, '/me', cred)) as [[string, string], [string, string]]
    refusedWith(await send(callee, '/me', [wit, wit, auth]), 'duplicate_header')
    const second = `WPT ${await rawWpt(cred, { aud: `${callee.url}/me`, jti: randomBytes(16).toString('base64url') })}`
    refusedWith(await send(callee, '/me', [wit, auth, ['authorization', second]]), 'duplicate_header')
  })
})
