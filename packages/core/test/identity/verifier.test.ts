import { describe, expect, it, beforeAll } from 'vitest'
import { IdentityError, IdentityMissingError, MeshguardError } from '../../src/errors.js'
import { actorTokenOf, createIdentityVerifier, kActorToken, type IdentityVerifier } from '../../src/identity/index.js'
import {
  BROKEN_WORKLOAD_TOKENS,
  createIdentityFixture,
  generateFixtureKey,
  serviceId,
  USER_ISSUER,
  type ActorSpec,
  type BrokenWorkloadToken,
  type IdentityFixture,
} from '../../../../test/support/identity.js'

/** An actor given by its claims (the object member of ActorSpec, so `sub` is the claim, not String's method). */
type ActorClaims = Exclude<ActorSpec, string>

async function reasonOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise
  } catch (err) {
    expect(err).toBeInstanceOf(MeshguardError)
    return (err as MeshguardError).reason
  }
  throw new Error('expected a rejection')
}

describe('createIdentityVerifier', () => {
  let ids: IdentityFixture
  let verifier: IdentityVerifier
  beforeAll(async () => {
    ids = await createIdentityFixture()
    verifier = createIdentityVerifier(ids.verifierOptions('review-service'))
  })

  it('builds the on-behalf-of principal the seed policies expect', async () => {
    const headers = await ids.headers({ from: 'employee-service', to: 'review-service', actor: 'alice', transactionId: 'txn-1' })
    const caller = await verifier.verify(headers, { actor: 'required' })
    expect(caller.principal).toEqual({
      id: serviceId('employee-service'),
      roles: ['employee-service'],
      attr: { act: { user: { id: 'alice', roles: ['employee', 'manager'], attr: { department: 'engineering' }, issuer: USER_ISSUER } } },
    })
    expect(caller.workload.id).toBe(serviceId('employee-service'))
    expect(caller.workload.selfSigned).toBe(true)
    expect(caller.actor?.type).toBe('user')
    expect(caller.transactionId).toBe('txn-1')
    expect(caller.tokenDigests.workload).toMatch(/^[A-Za-z0-9_-]{43}$/)
  })

  it('marks an AI agent so policies can see attr.type == "AI_AGENT"', async () => {
    const headers = await ids.headers({ from: 'ai-reporting-agent', to: 'review-service', actor: 'agent' })
    const caller = await verifier.verify(headers)
    const act = caller.principal.attr?.['act'] as { user: { attr: Record<string, unknown>; roles: string[] } }
    expect(act.user.attr['type']).toBe('AI_AGENT')
    expect(act.user.roles).toEqual(['ai_agent'])
    expect(caller.actor?.type).toBe('agent')
  })

  it('keeps the raw actor token out of serialisation but available to the client', async () => {
    const headers = await ids.headers({ from: 'employee-service', to: 'review-service', actor: 'ed' })
    const caller = await verifier.verify(headers)
    expect(actorTokenOf(caller)).toBe(headers['x-meshguard-actor'])
    const text = JSON.stringify(caller)
    expect(text).not.toContain(headers['x-meshguard-actor'])
    expect(text).not.toContain(headers['authorization']?.slice(7))
    expect(Object.keys(caller)).not.toContain('actorToken')
  })

  it('serves a repeated token pair from the cache, never past exp', async () => {
    let now = Date.now()
    const v = createIdentityVerifier(ids.verifierOptions('review-service', { clock: () => now }))
    const token = await ids.mintWorkloadToken('employee-service', { audience: 'review-service', lifetime: 60, now: Math.floor(now / 1000) })
    await v.verify({ authorization: `Bearer ${token}` })
    await v.verify({ authorization: `Bearer ${token}` })
    expect(v.stats()).toMatchObject({ cacheHits: 1, cacheMisses: 1 })
    // Past exp the cached result is dropped: the token is verified again (clock tolerance applies)...
    now += 61_000
    await v.verify({ authorization: `Bearer ${token}` })
    expect(v.stats()).toMatchObject({ cacheHits: 1, cacheMisses: 2 })
    // ...and once beyond the tolerance it is rejected.
    now += 30_000
    expect(await reasonOf(v.verify({ authorization: `Bearer ${token}` }))).toBe('token_expired')
  })

  it('checks a session actor token in full with every new workload token, though its parse is remembered', async () => {
    let now = Date.now()
    const v = createIdentityVerifier(ids.verifierOptions('review-service', { clock: () => now }))
    // Padded, so it is longer than the workload tokens that carry it.
    const actor = await ids.mintActorToken({ sub: 'alice', roles: ['employee'], note: 'n'.repeat(400) } satisfies ActorClaims, { lifetime: 120, now: Math.floor(now / 1000) })
    const hop = async (): Promise<Record<string, string>> => ({
      authorization: `Bearer ${await ids.mintWorkloadToken('employee-service', { audience: 'review-service', actorToken: actor, now: Math.floor(now / 1000) })}`,
      'x-meshguard-actor': actor,
    })
    const first = await v.verify(await hop())
    const second = await v.verify(await hop())
    expect(v.stats()).toMatchObject({ cacheHits: 0, cacheMisses: 2 })
    expect(second.actor).toEqual(first.actor)
    expect(Object.isFrozen(second.actor?.claims)).toBe(true)
    expect(second.tokenDigests.actor).toBe(first.tokenDigests.actor)
    // The remembered digest of this actor token never vouches for a workload token bound to another one.
    const other = await ids.mintActorToken('alice')
    const boundElsewhere = await ids.mintWorkloadToken('employee-service', { audience: 'review-service', actorToken: other, now: Math.floor(now / 1000) })
    expect(await reasonOf(v.verify({ authorization: `Bearer ${boundElsewhere}`, 'x-meshguard-actor': actor }))).toBe('actor_binding_mismatch')
    // Nor for another token that merely ends the same way (the memo is keyed by the token's end).
    const sameEnd = `${actor.slice(0, 40)}${actor[40] === 'A' ? 'B' : 'A'}${actor.slice(41)}`
    expect(await reasonOf(v.verify({ ...(await hop()), 'x-meshguard-actor': sameEnd }))).toBe('actor_binding_mismatch')
    // A workload token bound to a look-alike (one character of the padded note changed, so it still
    // parses) gets the look-alike checked in full: neither the remembered parse nor the signature stands in.
    const group = actor.indexOf('bm5ubm5u')
    const lookAlike = `${actor.slice(0, group)}bm5v${actor.slice(group + 4)}`
    expect(lookAlike.slice(-16)).toBe(actor.slice(-16))
    const boundToLookAlike = await ids.mintWorkloadToken('employee-service', { audience: 'review-service', actorToken: lookAlike, now: Math.floor(now / 1000) })
    expect(await reasonOf(v.verify({ authorization: `Bearer ${boundToLookAlike}`, 'x-meshguard-actor': lookAlike }))).toBe('signature_invalid')
    // Another verifier's smaller size limit still applies to the remembered token (the workload
    // token fits, so the refusal is the actor token's)...
    const next = await hop()
    const workloadBytes = (next['authorization'] ?? '').length - 'Bearer '.length
    expect(actor.length).toBeGreaterThan(workloadBytes)
    const small = createIdentityVerifier(ids.verifierOptions('review-service', { maxTokenBytes: Math.max(256, workloadBytes) }))
    expect(await reasonOf(small.verify(next))).toBe('token_too_large')
    // ...and its times are checked again: past exp plus tolerance it is refused.
    now += 151_000
    expect(await reasonOf(v.verify(await hop()))).toBe('token_expired')
  })

  it('says which token a failure is about, on the threadpool and the inline signature paths', async () => {
    const now = Math.floor(Date.now() / 1000)
    const kindOf = async (promise: Promise<unknown>): Promise<[string, string | undefined]> => {
      const err = await promise.then(() => undefined, (e: unknown) => e)
      if (!(err instanceof MeshguardError)) throw new Error('expected a meshguard error')
      return [err.reason, err.tokenKind]
    }
    const alice = await ids.mintActorToken('alice')
    const expiredActor = await ids.mintActorToken('alice', { now: now - 7200, lifetime: 900 })
    const forgedActor = `${alice.slice(0, -6)}${alice.endsWith('AAAAAA') ? 'BBBBBB' : 'AAAAAA'}`
    const bound = async (actor: string) => `Bearer ${await ids.mintWorkloadToken('employee-service', { audience: 'review-service', actorToken: actor })}`
    const cases: [Record<string, string | string[]>, [string, string | undefined]][] = [
      [{}, ['token_missing', 'workload']],
      [{ authorization: 'Basic dXNlcjpwYXNz' }, ['auth_scheme_invalid', 'workload']],
      [{ authorization: `Bearer ${await ids.brokenWorkloadToken('expired', 'employee-service', 'review-service')}` }, ['token_expired', 'workload']],
      [{ authorization: await bound(expiredActor), 'x-meshguard-actor': expiredActor }, ['token_expired', 'actor']],
      [{ authorization: await bound(forgedActor), 'x-meshguard-actor': forgedActor }, ['signature_invalid', 'actor']],
      [{ authorization: await bound(alice), 'x-meshguard-actor': await ids.mintActorToken('hana') }, ['actor_binding_mismatch', 'actor']],
      [{ authorization: await bound(alice), 'x-meshguard-actor': [alice, alice] }, ['duplicate_header', 'actor']],
      [{ authorization: await bound(alice), 'x-meshguard-actor': alice, 'x-meshguard-txn': '%%' }, ['txn_invalid', undefined]],
    ]
    for (const signatureCheck of ['threadpool', 'inline'] as const) {
      const v = createIdentityVerifier(ids.verifierOptions('review-service', { signatureCheck }))
      for (const [headers, expected] of cases) expect([signatureCheck, ...(await kindOf(v.verify(headers)))]).toEqual([signatureCheck, ...expected])
      const bare = await ids.headers({ from: 'employee-service', to: 'review-service' })
      expect(await kindOf(v.verify(bare, { actor: 'required' }))).toEqual(['actor_required', 'actor'])
    }
  })

  it('requires, forbids or accepts an actor per route', async () => {
    const bare = await ids.headers({ from: 'employee-service', to: 'review-service' })
    const err = await verifier.verify(bare, { actor: 'required' }).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(IdentityMissingError)
    expect((err as IdentityMissingError).reason).toBe('actor_required')
    const withActor = await ids.headers({ from: 'employee-service', to: 'review-service', actor: 'alice' })
    expect(await reasonOf(verifier.verify(withActor, { actor: 'forbidden' }))).toBe('actor_forbidden')
    await expect(verifier.verify(bare, { actor: 'optional' })).resolves.toBeDefined()
  })

  it('reports a missing workload token as token_missing', async () => {
    const err = await verifier.verify({}).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(IdentityMissingError)
    expect((err as IdentityMissingError).reason).toBe('token_missing')
  })

  for (const [kind, reason] of Object.entries(BROKEN_WORKLOAD_TOKENS)) {
    it(`rejects the broken fixture token "${kind}" with ${reason}`, async () => {
      const token = await ids.brokenWorkloadToken(kind as BrokenWorkloadToken, 'employee-service', 'review-service')
      const err = await verifier.verify({ authorization: `Bearer ${token}` }).catch((e: unknown) => e)
      expect(err).toBeInstanceOf(IdentityError)
      expect((err as IdentityError).reason).toBe(reason)
      expect((err as Error).message).not.toContain(token.slice(0, 20))
    })
  }
})

describe('SPIRE-style JWT-SVIDs', () => {
  it('accepts SVIDs from a SPIFFE bundle (use: jwt-svid, no iss, typ JWT) bound to a trust domain', async () => {
    const ids = await createIdentityFixture({ services: ['svc', 'callee'] })
    const { generateFixtureKey } = await import('../../../../test/support/identity.js')
    const key = generateFixtureKey('ES256', 'spire-1')
    const verifier = createIdentityVerifier({
      audience: serviceId('callee'),
      trust: {
        workloads: [
          {
            identities: ['spiffe://example.org/*'],
            keys: { jwks: { keys: [{ ...key.publicJwk, use: 'jwt-svid', alg: undefined }] } },
            typ: ['JWT', 'JOSE'],
            typOptional: true,
            requireActorBinding: false,
          },
        ],
      },
    })
    const svid = await ids.mintWorkloadToken('svc', {
      audience: 'callee',
      signWith: key,
      header: { kid: 'spire-1', typ: 'JWT' },
      claims: { iss: undefined, jti: undefined },
    })
    const caller = await verifier.verify({ authorization: `Bearer ${svid}` })
    expect(caller.workload).toMatchObject({ id: serviceId('svc'), issuer: undefined, roles: ['svc'] })
    const noTyp = await ids.mintWorkloadToken('svc', { audience: 'callee', signWith: key, header: { kid: 'spire-1', typ: undefined }, claims: { iss: undefined } })
    await expect(verifier.verify({ authorization: `Bearer ${noTyp}` })).resolves.toBeDefined()
  })

  it('shares one verification between concurrent first requests', async () => {
    const ids = await createIdentityFixture({ services: ['svc', 'callee'] })
    const verifier = createIdentityVerifier(ids.verifierOptions('callee'))
    const headers = await ids.headers({ from: 'svc', to: 'callee', actor: 'alice' })
    const callers = await Promise.all(Array.from({ length: 10 }, () => verifier.verify(headers)))
    // One verification: every caller holds the same verified workload (a second one would parse its own).
    expect(new Set(callers.map((c) => c.workload)).size).toBe(1)
    expect(verifier.stats().cacheMisses).toBe(10)
  })
})

describe('verification cache keyed by signatures', () => {
  it('never serves a result to a different token that reuses a cached signature', async () => {
    const ids = await createIdentityFixture({ services: ['svc', 'callee'] })
    const verifier = createIdentityVerifier(ids.verifierOptions('callee'))
    const valid = await ids.mintWorkloadToken('svc', { audience: 'callee' })
    const [h, p, s] = valid.split('.') as [string, string, string]
    const claims = JSON.parse(Buffer.from(p, 'base64url').toString()) as Record<string, unknown>
    const forged = `${h}.${Buffer.from(JSON.stringify({ ...claims, roles: ['admin'] })).toString('base64url')}.${s}`
    // Concurrently: the forged token must not share the valid one's running verification.
    const [a, b] = await Promise.allSettled([
      verifier.verify({ authorization: `Bearer ${valid}` }),
      verifier.verify({ authorization: `Bearer ${forged}` }),
    ])
    expect(a.status).toBe('fulfilled')
    expect(b.status === 'rejected' && (b.reason as IdentityError).reason).toBe('signature_invalid')
    // After caching: still refused, and the valid token is still served.
    expect(await reasonOf(verifier.verify({ authorization: `Bearer ${forged}` }))).toBe('signature_invalid')
    await expect(verifier.verify({ authorization: `Bearer ${valid}` })).resolves.toBeDefined()
    // Forged first, then valid: the failure does not stick to the valid token either.
    const verifier2 = createIdentityVerifier(ids.verifierOptions('callee'))
    const [c, d] = await Promise.allSettled([
      verifier2.verify({ authorization: `Bearer ${forged}` }),
      verifier2.verify({ authorization: `Bearer ${valid}` }),
    ])
    expect([c.status, d.status]).toEqual(['rejected', 'fulfilled'])
  })
})

describe('cache hits read the headers exactly as a miss does', () => {
  let ids: IdentityFixture
  let verifier: IdentityVerifier
  let headers: Record<string, string>
  beforeAll(async () => {
    ids = await createIdentityFixture({ services: ['svc', 'callee'] })
    verifier = createIdentityVerifier(ids.verifierOptions('callee'))
    headers = await ids.headers({ from: 'svc', to: 'callee', actor: 'alice' })
    await verifier.verify(headers)
  })
  const actorOf = (h: Record<string, string>): string => h['x-meshguard-actor'] as string
  const workloadOf = (h: Record<string, string>): string => (h['authorization'] as string).slice('Bearer '.length)

  it('serves equal header values from the cache, and equivalent spellings by verifying again', async () => {
    const before = verifier.stats()
    const hit = await verifier.verify({ ...headers })
    const arrays = await verifier.verify({ authorization: [headers['authorization'] as string], 'x-meshguard-actor': [actorOf(headers)] })
    const respelled = await verifier.verify({ authorization: `bearer   ${workloadOf(headers)}`, 'x-meshguard-actor': ` ${actorOf(headers)} ` })
    const after = verifier.stats()
    expect(after.cacheHits - before.cacheHits).toBe(2)
    expect(after.cacheMisses - before.cacheMisses).toBe(1)
    for (const caller of [hit, arrays, respelled]) {
      expect(caller.principal).toMatchObject({ id: serviceId('svc'), attr: { act: { user: { id: 'alice' } } } })
      expect(actorTokenOf(caller)).toBe(actorOf(headers))
    }
  })

  it('still runs every header check on a cached pair, in the same order', async () => {
    const auth = headers['authorization'] as string
    const actor = actorOf(headers)
    expect(await reasonOf(verifier.verify({ authorization: auth, 'x-meshguard-actor': [actor, actor] }))).toBe('duplicate_header')
    expect(await reasonOf(verifier.verify({ authorization: `${auth}, ${auth}`, 'x-meshguard-actor': actor }))).toBe('duplicate_header')
    expect(await reasonOf(verifier.verify({ ...headers, 'x-meshguard-txn': 'not a txn!' }))).toBe('txn_invalid')
    expect(await reasonOf(verifier.verify({ ...headers }, { actor: 'forbidden' }))).toBe('actor_forbidden')
    expect(await reasonOf(verifier.verify({ authorization: auth }, { actor: 'required' }))).toBe('actor_required')
    // The workload token is bound to its actor token: the cached pair's workload token with another actor fails.
    const other = await ids.headers({ from: 'svc', to: 'callee', actor: 'ed' })
    expect(await reasonOf(verifier.verify({ authorization: auth, 'x-meshguard-actor': actorOf(other) }))).toBe('actor_binding_mismatch')
    // A bad scheme is reported before a duplicated actor header, as without a cache.
    expect(await reasonOf(verifier.verify({ authorization: `Basic ${workloadOf(headers)}`, 'x-meshguard-actor': [actor, actor] }))).toBe('auth_scheme_invalid')
  })

  it('gives every request its own caller object and transaction id', async () => {
    const a = await verifier.verify({ ...headers })
    const b = await verifier.verify({ ...headers })
    expect(a).not.toBe(b)
    expect(a.principal).toBe(b.principal)
    expect(a.transactionId).not.toBe(b.transactionId)
    expect(Object.keys(a)).toEqual(['workload', 'actor', 'delegation', 'tokenDigests', 'principal', 'expiresAt', 'transactionId', 'txn'])
    // The raw actor token is no own property at all: only actorTokenOf (the kActorToken getter) reads it.
    expect(Object.getOwnPropertySymbols(a)).toEqual([])
    expect(actorTokenOf(a)).toBe(headers['x-meshguard-actor'])
    expect(kActorToken in { ...a }).toBe(false)
    const withTxn = await ids.headers({ from: 'svc', to: 'callee', actor: 'alice', transactionId: 'txn-42' })
    await verifier.verify(withTxn)
    expect((await verifier.verify(withTxn)).transactionId).toBe('txn-42')
  })
})

describe('claim mapping', () => {
  it('reads actor roles and type from configured claims; workload claims only from an authority', async () => {
    const ids = await createIdentityFixture({ services: ['svc', 'callee'] })
    const spire = generateFixtureKey('ES256', 'spire-1')
    const trust = ids.trust()
    if (trust.workloads === undefined) throw new Error('fixture')
    trust.workloads.push({ issuer: 'https://spire.example.org', identities: [serviceId('svc')], keys: { jwks: { keys: [spire.publicJwk] } }, authoritativeClaims: ['svc_roles', 'tier'] })
    const verifier = createIdentityVerifier(
      ids.verifierOptions('callee', { trust, claims: { workloadRolesClaim: 'svc_roles', actorRolesClaim: 'groups', actorTypeClaim: 'kind' } }),
    )
    const actor = await ids.mintActorToken({ sub: 'bot-7', groups: ['reports'], kind: 'ai_agent', type: 'USER' } satisfies ActorClaims)
    const claims = { svc_roles: ['reporter'], tier: 'gold', note: 'mine' }
    // The workload's own key: its claims are its own say and grant nothing.
    const own = await ids.mintWorkloadToken('svc', { audience: 'callee', actorToken: actor, claims })
    const ownCaller = await verifier.verify({ authorization: `Bearer ${own}`, 'x-meshguard-actor': actor })
    expect(ownCaller.principal.roles).toEqual(['svc'])
    expect(Object.keys(ownCaller.principal.attr ?? {})).toEqual(['act'])
    expect(ownCaller.workload.claims['tier']).toBe('gold')
    // The same claims signed by an identity server configured as their authority.
    const issued = await ids.mintWorkloadToken('svc', {
      audience: 'callee',
      actorToken: actor,
      signWith: spire,
      header: { kid: 'spire-1' },
      claims: { ...claims, iss: 'https://spire.example.org' },
    })
    const caller = await verifier.verify({ authorization: `Bearer ${issued}`, 'x-meshguard-actor': actor })
    expect(caller.principal).toMatchObject({
      id: serviceId('svc'),
      roles: ['svc', 'reporter'],
      attr: { tier: 'gold', act: { user: { id: 'bot-7', roles: ['reports'], attr: { type: 'AI_AGENT' } } } },
    })
    expect(caller.principal.attr?.['note']).toBeUndefined()
    expect(caller.workload.selfSigned).toBe(false)
    expect(caller.actor?.type).toBe('agent')
  })

  it('takes full control through mapping functions', async () => {
    const ids = await createIdentityFixture({ services: ['svc', 'callee'] })
    const verifier = createIdentityVerifier(
      ids.verifierOptions('callee', {
        claims: {
          mapWorkload: (claims, id, grant) => ({ roles: ['svc', ...grant.roles], attr: { id, team: claims['team'], selfSigned: grant.selfSigned } }),
          mapActor: (claims) => ({ id: `user:${String(claims['sub'])}`, type: 'user', roles: ['r'], attr: { dept: claims['department'] } }),
        },
      }),
    )
    const headers = await ids.headers({ from: 'svc', to: 'callee', actor: 'ed' })
    const caller = await verifier.verify(headers)
    expect(caller.principal).toEqual({
      id: serviceId('svc'),
      roles: ['svc'],
      attr: { id: serviceId('svc'), team: undefined, selfSigned: true, act: { user: { id: 'user:ed', roles: ['r'], attr: { dept: 'engineering' }, issuer: USER_ISSUER } } },
    })
  })

  it('never reuses a principal whose attributes differ only by an undefined or inherited entry', async () => {
    const ids = await createIdentityFixture({ services: ['svc', 'callee'] })
    const shapes: Record<string, unknown>[] = [{ z: 1 }, { y: undefined }, Object.create({ z: 1 }) as Record<string, unknown>]
    let next = 0
    const verifier = createIdentityVerifier(
      ids.verifierOptions('callee', { claims: { mapWorkload: () => ({ roles: ['svc'], attr: shapes[next++ % shapes.length] as Record<string, unknown> }) } }),
    )
    const attrs = []
    for (let i = 0; i < 3; i++) attrs.push((await verifier.verify(await ids.headers({ from: 'svc', to: 'callee' }))).principal.attr ?? {})
    expect(attrs.map((a) => Object.keys(a))).toEqual([['z'], ['y'], []])
  })

  it('shows an agent workload as AI_AGENT only when the callee says so, never on its own claim', async () => {
    const ids = await createIdentityFixture({ services: ['ai-reporting-agent', 'callee'] })
    const agent = ids.services['ai-reporting-agent']
    if (agent === undefined) throw new Error('fixture')
    const { createWorkloadIdentity, selfSignedTokenSource } = await import('../../src/identity/index.js')
    const identity = createWorkloadIdentity({
      id: agent.id,
      source: selfSignedTokenSource({ key: agent.privateKey, kid: agent.kid, claims: { type: 'AI_AGENT', roles: ['hr'] } }),
    })
    const headers = await identity.headersFor({ audience: serviceId('callee') })
    const plain = await createIdentityVerifier(ids.verifierOptions('callee')).verify(headers)
    expect(plain.principal).toEqual({ id: agent.id, roles: ['ai-reporting-agent'], attr: {} })
    const trust = ids.trust()
    const anchor = trust.workloads?.find((a) => a.issuer === agent.id)
    if (anchor === undefined) throw new Error('fixture')
    anchor.attributes = { type: 'AI_AGENT' }
    anchor.roles = ['reporting']
    const configured = await createIdentityVerifier(ids.verifierOptions('callee', { trust })).verify(headers)
    expect(configured.principal).toEqual({ id: agent.id, roles: ['ai-reporting-agent', 'reporting'], attr: { type: 'AI_AGENT' } })
  })

})
