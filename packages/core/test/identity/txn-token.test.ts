import { beforeAll, describe, expect, it } from 'vitest'
import { MeshguardError, MintError } from '../../src/errors.js'
import {
  actorTokenOf,
  createIdentityVerifier,
  sha256Base64url,
  txnTokenOf,
  type IdentityVerifier,
  type IdentityVerifierOptions,
} from '../../src/identity/index.js'
import { createIdentityFixture, generateFixtureKey, serviceId, type IdentityFixture } from '../../../../test/support/identity.js'
import { createTxnTokenFixture, payloadOf, userContext, type TxnTokenFixture } from '../../../../test/support/txn-tokens.js'

async function failure(promise: Promise<unknown>): Promise<MeshguardError> {
  try {
    await promise
  } catch (err) {
    expect(err).toBeInstanceOf(MeshguardError)
    return err as MeshguardError
  }
  throw new Error('expected a rejection')
}

const reasonOf = async (promise: Promise<unknown>): Promise<string> => (await failure(promise)).reason

describe('Txn-Token as the actor credential', () => {
  let ids: IdentityFixture
  let tts: TxnTokenFixture
  let verifier: IdentityVerifier
  const options = (overrides: Partial<IdentityVerifierOptions> = {}): IdentityVerifierOptions =>
    ids.verifierOptions('review-service', { trust: { ...ids.trust(), txnTokens: tts.trust() }, ...overrides })
  const hop = async (txnToken: string, extra: { workload?: Parameters<TxnTokenFixture['headers']>[0]['workload'] } = {}) =>
    tts.headers({ from: 'employee-service', to: 'review-service', txnToken, ...extra })

  beforeAll(async () => {
    ids = await createIdentityFixture()
    tts = createTxnTokenFixture(ids)
    verifier = createIdentityVerifier(options())
  })

  it('builds the seed principal from the Txn-Token and adds attr.txn', async () => {
    const token = await tts.mint({ txn: 'txn-42', scope: 'review.read review.list', tctx: { ...userContext('alice'), order: '7' } })
    const caller = await verifier.verify(await hop(token), { actor: 'required' })
    expect(caller.principal).toEqual({
      id: serviceId('employee-service'),
      roles: ['employee-service'],
      attr: {
        act: { user: { id: 'alice', roles: ['employee', 'manager'], attr: { department: 'engineering' }, issuer: 'example.org' } },
        txn: {
          id: 'txn-42',
          scope: ['review.read', 'review.list'],
          req_wl: serviceId('gateway'),
          rctx: { req_ip: '127.0.0.1' },
          tctx: { ...userContext('alice'), order: '7' },
        },
      },
    })
    expect(caller.transactionId).toBe('txn-42')
    expect(caller.txn?.scope).toEqual(['review.read', 'review.list'])
    expect(caller.txn?.requestingWorkload).toBe(serviceId('gateway'))
    expect(txnTokenOf(caller)).toBe(token)
    expect(actorTokenOf(caller)).toBeUndefined()
    expect(caller.tokenDigests.actor).toBe(sha256Base64url(token))
    expect(JSON.stringify(caller)).not.toContain(token)
  })

  it('has no actor for a transaction a workload started for itself', async () => {
    const token = await tts.mint({ sub: serviceId('ai-reporting-agent'), tctx: {} })
    const caller = await verifier.verify(await hop(token))
    expect(caller.actor).toBeUndefined()
    expect(caller.principal.attr?.['act']).toBeUndefined()
    expect((caller.principal.attr?.['txn'] as { id: string }).id).toBe(payloadOf(token)['txn'])
    expect(await reasonOf(verifier.verify(await hop(token), { actor: 'required' }))).toBe('actor_required')
  })

  it('takes roles and attributes only from tctx.user (the TTS), never from other claims', async () => {
    const token = await tts.mint({ tctx: {}, claims: { roles: ['admin'], department: 'people' } })
    const caller = await verifier.verify(await hop(token))
    expect(caller.actor?.roles).toEqual([])
    expect(caller.actor?.attr).toEqual({})
  })

  const broken: Array<[string, (t: TxnTokenFixture) => Promise<string>]> = [
    ['txn_token_expired', (t) => t.mint({ now: Math.floor(Date.now() / 1000) - 600 })],
    ['txn_token_typ', (t) => t.mint({ header: { typ: 'at+jwt' } })],
    ['txn_token_typ', (t) => t.mint({ header: { typ: undefined } })],
    ['txn_token_aud', (t) => t.mint({ aud: 'other.example' })],
    ['txn_token_alg', (t) => t.mint({ header: { alg: 'none' } })],
    ['txn_token_alg', (t) => t.mint({ header: { alg: 'HS256' } })],
    ['txn_token_untrusted', (t) => t.mint({ header: { kid: 'who' } })],
    ['txn_token_signature', (t) => t.mint({ signWith: generateFixtureKey('ES256') })],
    ['txn_token_claims', (t) => t.mint({ claims: { txn: undefined } })],
    ['txn_token_claims', (t) => t.mint({ claims: { sub: undefined } })],
    ['txn_token_claims', (t) => t.mint({ claims: { scope: undefined } })],
    ['txn_token_claims', (t) => t.mint({ claims: { req_wl: undefined } })],
    ['txn_token_claims', (t) => t.mint({ claims: { req_wl: ['a', 'b'] } })],
    ['txn_token_claims', (t) => t.mint({ claims: { tctx: 'x' } })],
    ['txn_token_claims', (t) => t.mint({ claims: { iat: undefined } })],
    ['txn_token_claims', (t) => t.mint({ claims: { aud: undefined } })],
    ['txn_token_claims', (t) => t.mint({ claims: { exp: '9999999999' } })],
    ['txn_token_iat', (t) => t.mint({ claims: { iat: Math.floor(Date.now() / 1000) + 600, exp: Math.floor(Date.now() / 1000) + 700 } })],
    ['txn_token_lifetime', (t) => t.mint({ lifetime: 3600 })],
  ]
  for (const [reason, make] of broken) {
    it(`refuses a broken Txn-Token: ${reason}`, async () => {
      const token = await make(tts)
      const err = await failure(verifier.verify(await hop(token)))
      expect(err.reason).toBe(reason)
      expect(err.httpStatus).toBe(401)
      expect(err.tokenKind).toBe('actor')
    })
  }

  it('refuses a malformed Txn-Token header value', async () => {
    const token = await tts.mint()
    const headers = await hop(token)
    expect(await reasonOf(verifier.verify({ ...headers, 'txn-token': `Bearer ${token}` }))).toBe('txn_token_unbound')
    expect(await reasonOf(verifier.verify({ ...headers, 'txn-token': 'not.a-jws' }))).toBe('txn_token_unbound')
    const garbage = 'e30.e30.x'
    const bound = { ...headers, 'txn-token': garbage }
    const workload = await ids.mintWorkloadToken('employee-service', {
      audience: 'review-service',
      transactionId: payloadOf(token)['txn'] as string,
      claims: { tth: sha256Base64url(garbage) },
    })
    expect(await reasonOf(verifier.verify({ ...bound, authorization: `Bearer ${workload}` }))).toBe('txn_token_alg')
    const notJws = 'not-a-jws'
    const workload2 = await ids.mintWorkloadToken('employee-service', { audience: 'review-service', claims: { tth: sha256Base64url(notJws) } })
    expect(await reasonOf(verifier.verify({ authorization: `Bearer ${workload2}`, 'txn-token': notJws }))).toBe('txn_token_malformed')
  })

  it('refuses the issuer when one is configured', async () => {
    const strict = createIdentityVerifier(options({ trust: { ...ids.trust(), txnTokens: tts.trust({ issuer: 'https://tts.example.org' }) } }))
    expect(await reasonOf(strict.verify(await hop(await tts.mint())))).toBe('txn_token_untrusted')
    const ok = await tts.mint({ claims: { iss: 'https://tts.example.org' } })
    expect((await strict.verify(await hop(ok))).actor?.issuer).toBe('https://tts.example.org')
  })

  it('refuses Txn-Tokens where no Txn-Token Service is trusted', async () => {
    const plain = createIdentityVerifier(ids.verifierOptions('review-service'))
    expect(await reasonOf(plain.verify(await hop(await tts.mint())))).toBe('txn_token_untrusted')
  })

  it('refuses a Txn-Token from another trust domain signed by that domain’s TTS', async () => {
    const foreign = createTxnTokenFixture(ids, { trustDomain: 'partner.example' })
    expect(await reasonOf(verifier.verify(await hop(await foreign.mint())))).toBe('txn_token_untrusted')
  })

  describe('binding to the workload token', () => {
    it('refuses a workload token without tth', async () => {
      const token = await tts.mint()
      expect(await reasonOf(verifier.verify(await hop(token, { workload: { claims: { tth: undefined } } })))).toBe('txn_token_unbound')
    })

    it('refuses a Txn-Token spliced onto another transaction’s workload token', async () => {
      const mine = await tts.mint({ txn: 'txn-mine' })
      const theirs = await tts.mint({ txn: 'txn-theirs' })
      const theirHeaders = await hop(theirs)
      const err = await failure(verifier.verify({ ...theirHeaders, 'txn-token': mine }))
      expect(err.reason).toBe('txn_token_unbound')
    })

    it('refuses a workload token naming another transaction than the Txn-Token', async () => {
      const token = await tts.mint({ txn: 'txn-a' })
      expect(await reasonOf(verifier.verify(await hop(token, { workload: { claims: { txn: 'txn-b' } } })))).toBe('txn_token_unbound')
    })

    it('refuses a workload token also bound to an access token', async () => {
      const token = await tts.mint()
      expect(await reasonOf(verifier.verify(await hop(token, { workload: { claims: { ath: 'x' } } })))).toBe('txn_token_unbound')
    })

    it('refuses a workload token bound to a Txn-Token that was stripped', async () => {
      const headers = await hop(await tts.mint())
      delete headers['txn-token']
      expect(await reasonOf(verifier.verify(headers))).toBe('txn_token_missing')
    })

    it('refuses an access token and a Txn-Token together', async () => {
      const headers = await hop(await tts.mint())
      headers['x-meshguard-actor'] = await ids.mintActorToken('alice')
      expect(await reasonOf(verifier.verify(headers))).toBe('txn_token_conflict')
    })

    it('refuses two Txn-Token headers', async () => {
      const token = await tts.mint()
      const headers = await hop(token)
      expect(await reasonOf(verifier.verify({ ...headers, 'txn-token': [token, token] }))).toBe('duplicate_header')
      expect(await reasonOf(verifier.verify({ ...headers, 'txn-token': `${token}, ${token}` }))).toBe('duplicate_header')
    })

    it('refuses a Txn-Token moved into the actor header, even after it verified as a Txn-Token', async () => {
      const token = await tts.mint()
      const headers = await hop(token)
      await verifier.verify(headers)
      const moved = { authorization: headers['authorization'] as string, 'x-meshguard-actor': token }
      expect(await reasonOf(verifier.verify(moved))).toBe('txn_token_missing')
    })

    it('refuses a transaction header that differs from the Txn-Token', async () => {
      const headers = await hop(await tts.mint())
      expect(await reasonOf(verifier.verify({ ...headers, 'x-meshguard-txn': 'txn-other' }))).toBe('txn_mismatch')
    })
  })

  describe('cache', () => {
    it('answers repeats as a fresh check would, and re-checks expiry', async () => {
      let now = Date.now()
      const cached = createIdentityVerifier(options({ clock: () => now }))
      const token = await tts.mint({ lifetime: 60 })
      const headers = await hop(token, { workload: { lifetime: 600 } })
      const first = await cached.verify(headers)
      const second = await cached.verify(headers)
      expect(second.principal).toBe(first.principal)
      expect(cached.stats().cacheHits).toBe(1)
      now += 120_000
      expect(await reasonOf(cached.verify(headers))).toBe('txn_token_expired')
    })

    it('shares one principal between fresh workload tokens of one Txn-Token', async () => {
      const token = await tts.mint()
      const a = await verifier.verify(await hop(token))
      const b = await verifier.verify(await hop(token))
      expect(b.principal).toBe(a.principal)
    })
  })
})

describe('minting a workload token bound to a Txn-Token', () => {
  let ids: IdentityFixture
  let tts: TxnTokenFixture

  beforeAll(async () => {
    ids = await createIdentityFixture()
    tts = createTxnTokenFixture(ids)
  })

  it('binds txn and tth, forwards the Txn-Token, never an access token, and expires with it', async () => {
    const token = await tts.mint({ txn: 'txn-77', lifetime: 120 })
    const identity = ids.workloadIdentity('employee-service')
    const headers = await identity.headersFor({ audience: serviceId('review-service'), txnToken: token, actor: await ids.mintActorToken('alice') })
    expect(headers['txn-token']).toBe(token)
    expect(headers['x-meshguard-actor']).toBeUndefined()
    expect(headers['x-meshguard-txn']).toBe('txn-77')
    const workload = payloadOf((headers['authorization'] as string).slice('Bearer '.length))
    expect(workload['tth']).toBe(sha256Base64url(token))
    expect(workload['txn']).toBe('txn-77')
    expect(workload['ath']).toBeUndefined()
    expect(workload['exp']).toBe(payloadOf(token)['exp'])
    const callee = createIdentityVerifier(ids.verifierOptions('review-service', { trust: { ...ids.trust(), txnTokens: tts.trust() } }))
    const caller = await callee.verify(headers)
    expect(caller.actor?.id).toBe('alice')
  })

  it('forwards the Txn-Token of the caller being served, not its access token', async () => {
    const token = await tts.mint()
    const trust = { ...ids.trust(), txnTokens: tts.trust() }
    const employee = createIdentityVerifier(ids.verifierOptions('employee-service', { trust }))
    const inbound = await employee.verify(await tts.headers({ from: 'gateway', to: 'employee-service', txnToken: token }))
    const headers = await ids.workloadIdentity('employee-service').headersFor({ audience: serviceId('review-service'), caller: inbound })
    expect(headers['txn-token']).toBe(token)
    const review = createIdentityVerifier(ids.verifierOptions('review-service', { trust }))
    const caller = await review.verify(headers)
    expect(caller.delegation.workloads).toEqual([serviceId('gateway')])
    expect(caller.transactionId).toBe(inbound.transactionId)
  })

  it('refuses to forward an expired Txn-Token or one it cannot read', async () => {
    const identity = ids.workloadIdentity('employee-service')
    const expired = await tts.mint({ now: Math.floor(Date.now() / 1000) - 600 })
    await expect(identity.headersFor({ audience: 'x', txnToken: expired })).rejects.toMatchObject({ reason: 'txn_token_expired' })
    await expect(identity.headersFor({ audience: 'x', txnToken: 'nope' })).rejects.toBeInstanceOf(MintError)
  })
})
