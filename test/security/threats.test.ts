/**
 * One test per threat of the on-behalf-of threat list (T1–T26, ../shared/research/identity-and-threats.md §5),
 * then the classes an attack run found later (T27–T33), then those of issue 18 (T34–T38), each asserting the stable reason code or the
 * principal a policy would see. test/security/authority-http.test.ts runs T27–T30 over real HTTP. README.md maps threats to tests and explains the ones that do not
 * apply to the identity layer.
 */
import { createHmac, generateKeyPairSync } from 'node:crypto'
import { mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { inspect } from 'node:util'
import { beforeAll, describe, expect, it } from 'vitest'
import { createMeshguardFetch } from '../../packages/client/src/index.js'
import { callerContext } from '../../packages/core/src/context/index.js'
import { EmbeddedEngine } from '../../packages/core/src/engine/embedded-engine.js'
import type { Principal } from '../../packages/core/src/types.js'
import { ConfigError, MeshguardError, MintError, UnavailableError } from '../../packages/core/src/errors.js'
import { createGuard } from '../../packages/core/src/pipeline/guard.js'
import type { EdgeOptions, GuardOutcome } from '../../packages/core/src/pipeline/types.js'
import { clientKey, proof } from '../support/dpop.js'
import { EDGE_POLICY } from '../support/edge-policy.js'
import {
  createEdgeVerifier,
  createIdentityVerifier,
  createTrustBundle,
  type IdentityVerifier,
  type IdentityVerifierOptions,
  type TrustBundleOptions,
} from '../../packages/core/src/identity/index.js'
import type { HeaderView } from '../../packages/core/src/identity/headers.js'
import {
  createIdentityFixture,
  generateFixtureKey,
  serviceId,
  USER_ISSUER,
  type ActorSpec,
  type IdentityFixture,
} from '../support/identity.js'

/** The reason code a verification fails with; fails the test if it succeeds. */
async function reason(promise: Promise<unknown>): Promise<string> {
  const outcome = await promise.then(
    () => undefined,
    (err: unknown) => err,
  )
  if (outcome === undefined) throw new Error('expected the verification to fail, but it succeeded')
  expect(outcome).toBeInstanceOf(MeshguardError)
  return (outcome as MeshguardError).reason
}

const b64 = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url')
const parts = (token: string): [string, string, string] => token.split('.') as [string, string, string]
const claimsOf = (token: string): Record<string, unknown> =>
  JSON.parse(Buffer.from(parts(token)[1], 'base64url').toString()) as Record<string, unknown>

/** The workload anchors of fixture trust options (the fixture always lists them), the same array. */
function workloadsOf(trust: TrustBundleOptions): NonNullable<TrustBundleOptions['workloads']> {
  if (trust.workloads === undefined) throw new Error('fixture trust without workload anchors')
  return trust.workloads
}

let ids: IdentityFixture
let atReview: IdentityVerifier
let atPayments: IdentityVerifier
const REVIEW = serviceId('review-service')
const PAYMENTS = serviceId('payments')
const EMPLOYEE = serviceId('employee-service')
const now = (): number => Math.floor(Date.now() / 1000)

beforeAll(async () => {
  ids = await createIdentityFixture()
  atReview = createIdentityVerifier(ids.verifierOptions('review-service'))
  atPayments = createIdentityVerifier(ids.verifierOptions('payments'))
})

const bearer = (token: string, extra: Record<string, string | string[]> = {}): HeaderView => ({ authorization: `Bearer ${token}`, ...extra })
const wl = (spec: Parameters<IdentityFixture['mintWorkloadToken']>[1], from = 'employee-service') => ids.mintWorkloadToken(from, spec)

describe('threats', () => {
  it('T1 replay at another service: aud must be exactly this service', async () => {
    const forReview = await wl({ audience: 'review-service' })
    await expect(atReview.verify(bearer(forReview))).resolves.toBeDefined()
    expect(await reason(atPayments.verify(bearer(forReview)))).toBe('aud_mismatch')
    expect(await reason(atPayments.verify(bearer(await wl({ audience: 'x', claims: { aud: [REVIEW, PAYMENTS] } }))))).toBe('multi_audience')
    expect(await reason(atPayments.verify(bearer(await wl({ audience: 'spiffe://example.org' }))))).toBe('aud_mismatch')
  })

  it('T2 replay over time: exp required, bounded lifetime, tokens never echoed', async () => {
    const expired = await wl({ audience: 'review-service', now: now() - 300 - 31, lifetime: 300 })
    expect(await reason(atReview.verify(bearer(expired)))).toBe('token_expired')
    expect(await reason(atReview.verify(bearer(await wl({ audience: 'review-service', claims: { exp: undefined } }))))).toBe('claim_missing')
    expect(await reason(atReview.verify(bearer(await wl({ audience: 'review-service', lifetime: 86_400 }))))).toBe('lifetime_too_long')
    const err = await atReview.verify(bearer(expired)).catch((e: unknown) => e)
    expect(`${String(err)} ${inspect(err)}`).not.toContain(parts(expired)[1])
  })

  it('T3 confused deputy: a user route never falls back to the workload alone', async () => {
    const bare = await ids.headers({ from: 'employee-service', to: 'review-service' })
    expect(await reason(atReview.verify(bare, { actor: 'required' }))).toBe('actor_required')
    // With the actor, the principal keeps both parties apart so the policy can require both (intersection).
    const caller = await atReview.verify(await ids.headers({ from: 'employee-service', to: 'review-service', actor: 'ed' }), { actor: 'required' })
    expect(caller.principal.id).toBe(EMPLOYEE)
    expect((caller.principal.attr?.['act'] as { user: { id: string } }).user.id).toBe('ed')
  })

  it('T4 actor/workload mismatch: the workload token is bound to the actor token it travels with', async () => {
    const alice = await ids.mintActorToken('alice')
    const ed = await ids.mintActorToken('ed')
    const boundToAlice = await wl({ audience: 'review-service', actorToken: alice })
    expect(await reason(atReview.verify(bearer(boundToAlice, { 'x-meshguard-actor': ed })))).toBe('actor_binding_mismatch')
    const unbound = await wl({ audience: 'review-service' })
    expect(await reason(atReview.verify(bearer(unbound, { 'x-meshguard-actor': alice })))).toBe('actor_binding_mismatch')
    // An exchanged actor token issued to workload Y (act.sub) presented by workload X.
    const issuedToOther = await ids.mintActorToken('alice', { claims: { act: { sub: serviceId('orders') } } })
    const presented = await wl({ audience: 'review-service', actorToken: issuedToOther })
    expect(await reason(atReview.verify(bearer(presented, { 'x-meshguard-actor': issuedToOther })))).toBe('actor_workload_mismatch')
  })

  it('T5 audience widening: wildcard and multi-audience hop tokens are refused', async () => {
    expect(await reason(atReview.verify(bearer(await wl({ audience: 'x', claims: { aud: ['*'] } }))))).toBe('aud_mismatch')
    expect(await reason(atReview.verify(bearer(await wl({ audience: 'x', claims: { aud: [REVIEW, '*'] } }))))).toBe('multi_audience')
  })

  it('T6 privilege growth across hops: the actor token is forwarded byte-identical, so its scope cannot grow', async () => {
    const atEmployee = createIdentityVerifier(ids.verifierOptions('employee-service'))
    const inbound = await atEmployee.verify(await ids.headers({ from: 'gateway', to: 'employee-service', actor: 'hana' }))
    const outbound = await ids.workloadIdentity('employee-service').headersFor({ audience: REVIEW, caller: inbound })
    const atC = await atReview.verify(outbound)
    expect(atC.tokenDigests.actor).toBe(inbound.tokenDigests.actor)
    // A workload token cannot smuggle user attributes: act.user comes only from the verified actor token.
    const sneaky = await wl({ audience: 'review-service', claims: { roles: ['employee-service'], department: 'people' } })
    const caller = await atReview.verify(bearer(sneaky))
    expect(caller.principal.attr?.['act']).toBeUndefined()
  })

  it('T7 delegation-depth explosion and parser DoS', async () => {
    const chain = (n: number): string[] => Array.from({ length: n }, (_, i) => serviceId(`hop-${i}`))
    await expect(atReview.verify(bearer(await wl({ audience: 'review-service', chain: chain(5) })))).resolves.toBeDefined()
    expect(await reason(atReview.verify(bearer(await wl({ audience: 'review-service', chain: chain(6) }))))).toBe('act_too_deep')
    expect(await reason(atReview.verify(bearer(await wl({ audience: 'review-service', claims: { act: 'gateway' } }))))).toBe('act_invalid')
    expect(await reason(atReview.verify(bearer(await wl({ audience: 'review-service', claims: { pad: 'x'.repeat(64 * 1024) } }))))).toBe(
      'token_too_large',
    )
    // 100k-deep nesting is refused by size before any JSON parsing or recursion.
    let deep = '{"sub":"x"}'
    for (let i = 0; i < 100_000; i++) deep = `{"sub":"x","act":${deep}}`
    const huge = `${b64({ alg: 'EdDSA', kid: 'k' })}.${Buffer.from(deep).toString('base64url')}.sig`
    expect(await reason(atReview.verify(bearer(huge)))).toBe('token_too_large')
    // The walk is iterative: a verifier configured for deep chains handles them without recursion.
    const deepVerifier = createIdentityVerifier(ids.verifierOptions('review-service', { maxActDepth: 100, maxTokenBytes: 65_536 }))
    expect(await reason(deepVerifier.verify(bearer(await wl({ audience: 'review-service', chain: chain(101) }))))).toBe('act_too_deep')
  })

  it('T8 chain splice: only the current workload and actor reach the principal', async () => {
    const admin = serviceId('admin-service')
    const token = await wl({ audience: 'review-service', chain: [serviceId('gateway'), admin] })
    const caller = await atReview.verify(bearer(token))
    expect(caller.delegation.workloads).toEqual([serviceId('gateway'), admin])
    expect(JSON.stringify(caller.principal)).not.toContain(admin)
    expect(caller.principal.roles).toEqual(['employee-service'])
  })

  it('T9 stale actor token: maximum age, and jobs never forward an expired user token', async () => {
    const old = await ids.mintActorToken('ed', { now: now() - 7200, lifetime: 86_000 })
    const w = await wl({ audience: 'review-service', actorToken: old })
    expect(await reason(atReview.verify(bearer(w, { 'x-meshguard-actor': old })))).toBe('token_too_old')
    const caller = await atReview.verify(await ids.headers({ from: 'employee-service', to: 'review-service', actor: 'ed' }))
    expect(() => callerContext.run(caller, () => callerContext.outbound(caller.expiresAt))).toThrow(MintError)
    expect(callerContext.run(caller, () => callerContext.runAsService(() => callerContext.outbound(caller.expiresAt)))).toEqual({
      transactionId: undefined,
    })
  })

  it('T10 algorithm confusion and alg none', async () => {
    const valid = await wl({ audience: 'review-service' })
    const [, payload] = parts(valid)
    const svc = ids.services['employee-service']
    if (svc === undefined) throw new Error('fixture')
    for (const alg of ['none', 'noNE', 'NONE']) {
      expect(await reason(atReview.verify(bearer(`${b64({ alg, kid: svc.kid, typ: 'workload+jwt' })}.${payload}.`)))).toBe('alg_not_allowed')
    }
    // HS256 "signed" with the service's public key as the HMAC secret.
    const pem = svc.publicKey.export({ format: 'pem', type: 'spki' }).toString()
    const hsInput = `${b64({ alg: 'HS256', kid: svc.kid, typ: 'workload+jwt' })}.${payload}`
    const hs = `${hsInput}.${createHmac('sha256', pem).update(hsInput).digest('base64url')}`
    expect(await reason(atReview.verify(bearer(hs)))).toBe('alg_not_allowed')
    // ES256 header against an Ed25519 key.
    expect(await reason(atReview.verify(bearer(await wl({ audience: 'review-service', header: { alg: 'ES256' } }))))).toBe('alg_not_allowed')
    expect(await reason(atReview.verify(bearer(await wl({ audience: 'review-service', header: { crit: ['exp'] } }))))).toBe('crit_unsupported')
  })

  it('T11 key injection through headers: jwk/jku/x5u/x5c are ignored, kid is opaque', async () => {
    let jkuRequests = 0
    const server = createServer((_req, res) => {
      jkuRequests++
      res.end('{}')
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    try {
      const attacker = generateFixtureKey('EdDSA', 'attacker')
      const jku = `http://127.0.0.1:${(server.address() as AddressInfo).port}/jwks`
      const embedded = await wl({
        audience: 'review-service',
        signWith: attacker,
        header: { kid: 'attacker', jwk: attacker.publicJwk, jku, x5u: jku, x5c: ['AAAA'] },
      })
      expect(await reason(atReview.verify(bearer(embedded)))).toBe('unknown_key')
      // Same attack keeping the rightful kid: the bundle key is used, so the signature fails.
      const rightKid = await wl({ audience: 'review-service', signWith: attacker, header: { jwk: attacker.publicJwk, jku } })
      expect(await reason(atReview.verify(bearer(rightKid)))).toBe('signature_invalid')
      expect(await reason(atReview.verify(bearer(await wl({ audience: 'review-service', header: { kid: '../../etc/passwd' } }))))).toBe(
        'unknown_key',
      )
      expect(jkuRequests).toBe(0)
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()))
    }
  })

  it('T12 cross-JWT confusion: each slot accepts only its own token kind', async () => {
    const userToken = await ids.mintActorToken('alice')
    expect(await reason(atReview.verify(bearer(userToken)))).toBe('unknown_issuer')
    const workloadAsActor = await wl({ audience: 'review-service' })
    const w = await wl({ audience: 'review-service', actorToken: workloadAsActor })
    expect(await reason(atReview.verify(bearer(w, { 'x-meshguard-actor': workloadAsActor })))).toBe('unknown_issuer')
    const idToken = await ids.mintActorToken('alice', { header: { typ: 'JWT' } })
    const w2 = await wl({ audience: 'review-service', actorToken: idToken })
    expect(await reason(atReview.verify(bearer(w2, { 'x-meshguard-actor': idToken })))).toBe('typ_mismatch')
  })

  it('T13 issuer/key mix-up: the issuer picks the keys, the key binds the identity', async () => {
    const gateway = ids.services['gateway']
    if (gateway === undefined) throw new Error('fixture')
    // iss = employee-service, signed with the gateway's key under the gateway's kid.
    const mixed = await wl({ audience: 'review-service', signWith: gateway, header: { kid: gateway.kid, alg: gateway.alg } })
    expect(await reason(atReview.verify(bearer(mixed)))).toBe('unknown_key')
    // ... and under employee-service's kid.
    expect(await reason(atReview.verify(bearer(await wl({ audience: 'review-service', signWith: gateway }))))).toBe('signature_invalid')
    // A trust domain's key cannot vouch for another trust domain.
    const td = generateFixtureKey('EdDSA', 'td-a')
    const verifier = createIdentityVerifier({
      audience: REVIEW,
      trust: { workloads: [{ identities: ['spiffe://td-a.example/*'], keys: { jwks: { keys: [td.publicJwk] } }, typOptional: true }] },
    })
    const svid = await wl({ audience: 'review-service', signWith: td, header: { kid: 'td-a', typ: undefined }, claims: { iss: undefined, sub: 'spiffe://td-b.example/x' } })
    expect(await reason(verifier.verify(bearer(svid)))).toBe('key_not_bound')
  })

  it('T14 JWKS outage and refresh abuse: bounded fetches, bounded staleness, then fail closed', async () => {
    const key = generateFixtureKey('EdDSA', 'rk')
    let requests = 0
    let up = true
    const server = createServer((_req, res) => {
      requests++
      if (!up) res.writeHead(503).end()
      else res.writeHead(200).end(JSON.stringify({ keys: [key.publicJwk] }))
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    try {
      let clock = Date.now()
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/jwks`
      const trust = createTrustBundle({ workloads: [{ issuer: EMPLOYEE, keys: { jwksUrl: url, staleIfErrorMs: 60_000 } }], clock: () => clock })
      const verifier = createIdentityVerifier({ audience: REVIEW, trust, cacheSize: 0, clock: () => clock })
      const token = (kid: string) => wl({ audience: 'review-service', signWith: key, header: { kid }, now: Math.floor(clock / 1000) })
      await verifier.verify(bearer(await token('rk')))
      const storm = await Promise.all(Array.from({ length: 1000 }, (_, i) => token(`rand-${i}`)))
      const results = await Promise.allSettled(storm.map((t) => verifier.verify(bearer(t))))
      expect(results.every((r) => r.status === 'rejected')).toBe(true)
      expect(requests).toBe(1)
      up = false
      clock += 600_000 + 1
      await expect(verifier.verify(bearer(await token('rk')))).resolves.toBeDefined()
      expect(trust.counters().jwksStaleServed).toBeGreaterThan(0)
      clock += 60_000
      expect(await reason(verifier.verify(bearer(await token('rk'))))).toBe('jwks_unavailable')
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()))
    }
  })

  it('T15 removed or compromised key: a rotated JWKS file drops it; an empty set trusts nothing', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mg-t15-'))
    try {
      const k1 = generateFixtureKey('EdDSA', 'k1')
      const k2 = generateFixtureKey('EdDSA', 'k2')
      const file = join(dir, 'jwks.json')
      writeFileSync(file, JSON.stringify({ keys: [k1.publicJwk] }))
      let clock = Date.now()
      const verifier = createIdentityVerifier({
        audience: REVIEW,
        trust: createTrustBundle({ workloads: [{ issuer: EMPLOYEE, keys: { jwksFile: file } }], clock: () => clock }),
        cacheSize: 0,
      })
      await verifier.verify(bearer(await wl({ audience: 'review-service', signWith: k1, header: { kid: 'k1' } })))
      writeFileSync(file, JSON.stringify({ keys: [k2.publicJwk] }))
      utimesSync(file, new Date(), new Date(Date.now() + 10_000))
      clock += 1500
      expect(await reason(verifier.verify(bearer(await wl({ audience: 'review-service', signWith: k1, header: { kid: 'k1' } }))))).toBe('unknown_key')
      const empty = createIdentityVerifier({ audience: REVIEW, trust: { workloads: [{ issuer: EMPLOYEE, keys: { jwks: { keys: [] } } }] } })
      expect(await reason(empty.verify(bearer(await wl({ audience: 'review-service' }))))).toBe('unknown_key')
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })

  it('T16 clock-skew abuse and malformed times', async () => {
    const at = (claims: Record<string, unknown>) => wl({ audience: 'review-service', claims })
    expect(await reason(atReview.verify(bearer(await at({ iat: now() + 120 }))))).toBe('iat_in_future')
    expect(await reason(atReview.verify(bearer(await at({ nbf: now() + 120 }))))).toBe('token_not_yet_valid')
    expect(await reason(atReview.verify(bearer(await at({ exp: '9999999999' }))))).toBe('claim_invalid')
    expect(await reason(atReview.verify(bearer(await at({ exp: 1e308 }))))).toBe('lifetime_too_long')
    expect(() => createIdentityVerifier(ids.verifierOptions('review-service', { clockTolerance: 120 }))).toThrow(ConfigError)
  })

  it('T17 header smuggling and duplicates', async () => {
    const token = await wl({ audience: 'review-service' })
    expect(await reason(atReview.verify({ authorization: [`Bearer ${token}`, `Bearer ${token}`] }))).toBe('duplicate_header')
    const actor = await ids.mintActorToken('alice')
    expect(await reason(atReview.verify(bearer(token, { 'x-meshguard-actor': `${actor}, ${actor}` })))).toBe('duplicate_header')
    expect(await reason(atReview.verify(bearer(token, { 'x-meshguard-actor': [actor, actor] })))).toBe('duplicate_header')
    expect(await reason(atReview.verify({ authorization: `Basic ${token}` }))).toBe('auth_scheme_invalid')
    expect(await reason(atReview.verify({ authorization: `Bearer ${token} extra` }))).toBe('auth_scheme_invalid')
    // Only the configured headers are read: a token in the query string or another header is ignored.
    expect(await reason(atReview.verify({ 'x-access-token': token, ':path': `/r?access_token=${token}` }))).toBe('token_missing')
  })

  it('T18 identity spoofing through propagated metadata does not change the principal', async () => {
    const headers = await ids.headers({ from: 'employee-service', to: 'review-service', actor: 'ed' })
    const plain = await atReview.verify(headers)
    const spoofed = await atReview.verify({
      ...headers,
      'x-user-id': 'admin',
      'x-forwarded-client-cert': 'By=spiffe://example.org/ns/default/sa/admin',
      baggage: 'user=admin,roles=admin',
      tracestate: 'sub=admin',
    })
    expect(spoofed.principal).toEqual(plain.principal)
  })

  it('T19 outbound token leakage: verified callers never serialise or print tokens', async () => {
    const headers = await ids.headers({ from: 'employee-service', to: 'review-service', actor: 'alice' })
    const caller = await atReview.verify(headers)
    const actor = headers['x-meshguard-actor'] as string
    const workload = (headers['authorization'] as string).slice(7)
    for (const text of [JSON.stringify(caller), inspect(caller, { depth: 10, showHidden: false }), JSON.stringify({ ...caller })]) {
      expect(text).not.toContain(parts(actor)[2])
      expect(text).not.toContain(parts(workload)[2])
    }
  })

  it('T20 fail-open paths: a failing claim mapping or an unknown failure never allows', async () => {
    const verifier = createIdentityVerifier(
      ids.verifierOptions('review-service', {
        claims: {
          mapWorkload: () => {
            throw new Error('boom')
          },
        },
      }),
    )
    expect(await reason(verifier.verify(await ids.headers({ from: 'employee-service', to: 'review-service' })))).toBe('claim_mapping_failed')
    const broken = createIdentityVerifier(
      ids.verifierOptions('review-service', { claims: { mapActor: () => ({ id: '', type: 'user', roles: [], attr: {} }) } }),
    )
    expect(await reason(broken.verify(await ids.headers({ from: 'employee-service', to: 'review-service', actor: 'ed' })))).toBe(
      'claim_mapping_failed',
    )
  })

  it('T21 stale cached result: the verification cache never outlives exp or crosses actors', async () => {
    let clock = Date.now()
    const verifier = createIdentityVerifier(ids.verifierOptions('review-service', { clock: () => clock, clockTolerance: 0 }))
    const alice = await ids.mintActorToken('alice', { lifetime: 60, now: Math.floor(clock / 1000) })
    const w = await wl({ audience: 'review-service', actorToken: alice, lifetime: 300, now: Math.floor(clock / 1000) })
    await verifier.verify(bearer(w, { 'x-meshguard-actor': alice }))
    clock += 60_000
    expect(await reason(verifier.verify(bearer(w, { 'x-meshguard-actor': alice })))).toBe('token_expired')
    const ed = await ids.mintActorToken('ed', { now: Math.floor(clock / 1000) })
    expect(await reason(verifier.verify(bearer(w, { 'x-meshguard-actor': ed })))).toBe('actor_binding_mismatch')
  })

  it('T22 delegation routes refuse calls without the delegating actor', async () => {
    // may_act is enforced by a token-exchange STS, which meshguard is not (see README). What a hop can
    // enforce: a route that acts for a user requires that user's token, bound to the workload token.
    const bare = await ids.headers({ from: 'ai-reporting-agent', to: 'review-service' })
    expect(await reason(atReview.verify(bare, { actor: 'required' }))).toBe('actor_required')
  })

  it('T23 transaction-context tampering: txn is signed into the token; a modified token fails', async () => {
    const token = await wl({ audience: 'review-service', transactionId: 'txn-a' })
    expect(await reason(atReview.verify(bearer(token, { 'x-meshguard-txn': 'txn-b' })))).toBe('txn_mismatch')
    expect((await atReview.verify(bearer(token))).transactionId).toBe('txn-a')
    const [h, p, s] = parts(token)
    const payload = claimsOf(token)
    const tampered = `${h}.${b64({ ...payload, txn: 'txn-b' })}.${s}`
    expect(p).not.toBe(b64({ ...payload, txn: 'txn-b' }))
    expect(await reason(atReview.verify(bearer(tampered)))).toBe('signature_invalid')
    expect(await reason(atReview.verify(bearer(token, { 'x-meshguard-txn': 'bad txn!' })))).toBe('txn_invalid')
  })

  it('T24 SPIFFE ID and trust-domain confusion', async () => {
    const key = generateFixtureKey('EdDSA', 'td')
    const verifier = (identities: string[]) =>
      createIdentityVerifier({ audience: REVIEW, trust: { workloads: [{ issuer: 'spire', identities, keys: { jwks: { keys: [key.publicJwk] } } }] } })
    const anyInDomain = verifier(['spiffe://example.org/*'])
    const as = (sub: string) => wl({ audience: 'review-service', signWith: key, header: { kid: 'td' }, claims: { iss: 'spire', sub } })
    for (const bad of [
      'spiffe://EXAMPLE.org/x',
      'spiffe://example.org/a/../admin',
      'spiffe://example.org/a%2Fb',
      'spiffe://example.org/svc/',
      'spiffe://example.org//svc',
      'spiffe://user@example.org/x',
      'spiffe://example.org:443/x',
      'SPIFFE://example.org/x',
      'spiffe://example.org/x?y',
      'spiffe://example.org/x#y',
      'spiffe://example.org',
    ]) {
      expect(await reason(anyInDomain.verify(bearer(await as(bad))))).toBe('invalid_spiffe_id')
    }
    expect(await reason(anyInDomain.verify(bearer(await as('spiffe://example.org.evil/x'))))).toBe('key_not_bound')
    const exact = verifier(['spiffe://example.org/ns/a'])
    await expect(exact.verify(bearer(await as('spiffe://example.org/ns/a')))).resolves.toBeDefined()
    expect(await reason(exact.verify(bearer(await as('spiffe://example.org/ns/ab'))))).toBe('key_not_bound')
  })

  it('T25 format confusion: only compact JWS', async () => {
    const token = await wl({ audience: 'review-service' })
    const [h, p, s] = parts(token)
    for (const bad of [
      JSON.stringify({ payload: p, protected: h, signature: s }),
      `${h}.${p}.${s}.x.y`,
      `${h}.${p}`,
      `${h}.${p.slice(0, 4)}+/${p.slice(4)}.${s}`,
      `${h}.${p}.${s}=`,
      `${h} .${p}.${s}`,
    ]) {
      expect(await reason(atReview.verify({ authorization: `Bearer ${bad}` }))).toMatch(/^(token_malformed|auth_scheme_invalid)$/)
    }
    expect(await reason(atReview.verify(bearer(`${b64(['alg'])}.${p}.${s}`)))).toBe('token_malformed')
  })

  it('T26 context stripping: a token minted for a user cannot travel without that user', async () => {
    const alice = await ids.mintActorToken('alice')
    const bound = await wl({ audience: 'review-service', actorToken: alice })
    expect(await reason(atReview.verify(bearer(bound)))).toBe('actor_binding_mismatch')
    expect(await reason(atReview.verify(bearer(await wl({ audience: 'review-service' })), { actor: 'required' }))).toBe('actor_required')
  })
})

/** The principal's roles and own attribute names. */
const shape = (caller: { principal: { roles: string[]; attr?: Record<string, unknown> | undefined } }) => ({
  roles: caller.principal.roles,
  attr: Object.keys(caller.principal.attr ?? {}),
})

describe('threats found by the attack run (T27 onwards)', () => {
  it('T27 self-asserted privilege: a workload\'s own claims never become roles or attributes', async () => {
    const engine = await EmbeddedEngine.fromDirectory(fileURLToPath(new URL('../../examples/policies', import.meta.url)))
    const refund = (principal: Principal) =>
      engine.checkInputs([{ principal, resource: { kind: 'payment', id: 'p1', attr: { customer: 'alice' } }, actions: ['refund', 'charge'] }])[0]?.actions
    for (const roles of [['billing'], 'billing', 'orders billing', ['employee-service', 'billing']]) {
      const alice = await ids.mintActorToken('alice')
      const token = await wl({ audience: 'payments', actorToken: alice, claims: { roles, type: 'AI_AGENT', department: 'people', act_user: 'x' } }, 'orders')
      const caller = await atPayments.verify(bearer(token, { 'x-meshguard-actor': alice }))
      expect(shape(caller)).toEqual({ roles: ['orders'], attr: ['act'] })
      expect(caller.workload.selfSigned).toBe(true)
      expect(caller.workload.claims['roles']).toEqual(roles)
      // The lateral move the sample policy exists to stop: orders may charge its user, never refund.
      expect(refund(caller.principal)).toMatchObject({ refund: { effect: 'EFFECT_DENY' }, charge: { effect: 'EFFECT_ALLOW' } })
    }
    // Roles the callee grants in its own configuration do count.
    const trust = ids.trust()
    const orders = workloadsOf(trust).find((a) => a.issuer === serviceId('orders'))
    if (orders === undefined) throw new Error('fixture')
    orders.roles = ['billing']
    const granting = createIdentityVerifier(ids.verifierOptions('payments', { trust }))
    const granted = await granting.verify(bearer(await wl({ audience: 'payments' }, 'orders')))
    expect(granted.principal.roles).toEqual(['orders', 'billing'])
    // A self-signed anchor cannot be made an authority for its own claims.
    orders.authoritativeClaims = ['roles']
    expect(() => createIdentityVerifier(ids.verifierOptions('payments', { trust }))).toThrow(ConfigError)
  })

  it('T28 self-asserted delegation: a presenter\'s own act chain is no evidence of where an actor token came from', async () => {
    // An actor token exchanged for the gateway (its current actor is the gateway).
    const forGateway = await ids.mintActorToken('alice', { claims: { act: { sub: serviceId('gateway') } } })
    // orders names the gateway upstream in its own token to pass the issued-to check.
    const claimed = await wl({ audience: 'review-service', actorToken: forGateway, chain: [serviceId('gateway')] }, 'orders')
    expect(await reason(atReview.verify(bearer(claimed, { 'x-meshguard-actor': forGateway })))).toBe('actor_workload_mismatch')
    // The gateway itself may present it.
    const own = await wl({ audience: 'review-service', actorToken: forGateway }, 'gateway')
    await expect(atReview.verify(bearer(own, { 'x-meshguard-actor': forGateway }))).resolves.toBeDefined()
    // A chain signed by a token service configured as the authority for `act` is evidence.
    const tts = generateFixtureKey('ES256', 'tts-1')
    const trust = ids.trust()
    const workloads = workloadsOf(trust)
    workloads.push({ issuer: 'https://tts.example.org', identities: ['spiffe://example.org/*'], keys: { jwks: { keys: [tts.publicJwk] } }, authoritativeClaims: ['act'] })
    const withTts = createIdentityVerifier(ids.verifierOptions('review-service', { trust }))
    const vouched = await wl(
      { audience: 'review-service', actorToken: forGateway, chain: [serviceId('gateway')], signWith: tts, header: { kid: 'tts-1' }, claims: { iss: 'https://tts.example.org' } },
      'orders',
    )
    const caller = await withTts.verify(bearer(vouched, { 'x-meshguard-actor': forGateway }))
    expect(caller.workload.selfSigned).toBe(false)
    expect(caller.delegation.workloads).toEqual([serviceId('gateway')])
    // The same token service's chain without `act` authority proves nothing.
    workloads[workloads.length - 1] = { ...workloads[workloads.length - 1]!, authoritativeClaims: [] }
    const noAct = createIdentityVerifier(ids.verifierOptions('review-service', { trust }))
    expect(await reason(noAct.verify(bearer(vouched, { 'x-meshguard-actor': forGateway })))).toBe('actor_workload_mismatch')
  })

  it('T29 prototype keys: a claim named __proto__ is inert data, never a prototype', async () => {
    const polluted = JSON.parse('{"__proto__": {"department": "engineering", "isAdmin": true}, "constructor": {"prototype": {"x": 1}}}') as Record<string, unknown>
    const claims: Exclude<ActorSpec, string> = { sub: 'mallory', roles: ['employee'], ...polluted }
    const actor = await ids.mintActorToken(claims)
    const caller = await atReview.verify(await (async () => {
      const w = await wl({ audience: 'review-service', actorToken: actor, claims: polluted })
      return bearer(w, { 'x-meshguard-actor': actor })
    })())
    const user = (caller.principal.attr?.['act'] as { user: { attr: Record<string, unknown> } }).user
    expect(Object.getPrototypeOf(user.attr)).toBeNull()
    expect(Object.getPrototypeOf(caller.principal.attr)).toBeNull()
    expect(user.attr['department']).toBeUndefined()
    expect(user.attr['isAdmin']).toBeUndefined()
    expect(Object.keys(user.attr).sort()).toEqual(['__proto__', 'constructor'])
    expect(({} as Record<string, unknown>)['isAdmin']).toBeUndefined()
    // The workload token's copy never reaches the principal at all (self-asserted).
    expect(Object.keys(caller.principal.attr ?? {})).toEqual(['act'])
  })

  it('T30 same sub, different issuer: with several actor issuers the actor id names its issuer', async () => {
    const other = generateFixtureKey('ES256', 'idp2-1')
    const OTHER = 'https://partner-idp.example.net'
    const trust = ids.trust()
    trust.actors = [...(trust.actors ?? []), { issuer: OTHER, keys: { jwks: { keys: [other.publicJwk] } }, audiences: ['meshguard'] }]
    const verifier = createIdentityVerifier(ids.verifierOptions('review-service', { trust }))
    const ours = await ids.mintActorToken('alice')
    const theirs = await ids.mintActorToken('alice', { signWith: other, header: { kid: 'idp2-1' }, claims: { iss: OTHER } })
    const idOf = async (actor: string) => {
      const w = await wl({ audience: 'review-service', actorToken: actor })
      const caller = await verifier.verify(bearer(w, { 'x-meshguard-actor': actor }))
      const user = (caller.principal.attr?.['act'] as { user: { id: string; issuer: string } }).user
      return [caller.actor?.id, user.id, user.issuer]
    }
    expect(await idOf(ours)).toEqual([`${USER_ISSUER}#alice`, `${USER_ISSUER}#alice`, USER_ISSUER])
    expect(await idOf(theirs)).toEqual([`${OTHER}#alice`, `${OTHER}#alice`, OTHER])
    // Explicit prefixes per issuer; overlapping ones are refused.
    const named = { ...trust, actors: trust.actors.map((a, i) => ({ ...a, actorIdPrefix: i === 0 ? 'corp:' : 'partner:' })) }
    const byPrefix = createIdentityVerifier(ids.verifierOptions('review-service', { trust: named }))
    const w = await wl({ audience: 'review-service', actorToken: theirs })
    expect((await byPrefix.verify(bearer(w, { 'x-meshguard-actor': theirs }))).actor?.id).toBe('partner:alice')
    for (const prefixes of [['', 'partner:'], ['p:', 'p:'], ['p', 'p:x']]) {
      const clash = { ...trust, actors: trust.actors.map((a, i) => ({ ...a, actorIdPrefix: prefixes[i] })) }
      expect(() => createIdentityVerifier(ids.verifierOptions('review-service', { trust: clash })), prefixes.join(' / ')).toThrow(ConfigError)
    }
  })

  it('T31 cache outliving the rules: a cached verification ends when a fresh one would refuse', async () => {
    const start = Date.now()
    let clock = start
    const seconds = () => Math.floor(clock / 1000)
    // (a) the actor token's maximum age passes while both tokens are still unexpired.
    const trust = ids.trust()
    trust.actors = trust.actors?.map((a) => ({ ...a, maxTokenAge: 120 }))
    const aging = createIdentityVerifier(ids.verifierOptions('review-service', { trust, clock: () => clock, clockTolerance: 0, signatureCheck: 'inline' }))
    const alice = await ids.mintActorToken('alice', { now: seconds(), lifetime: 900 })
    const w = await wl({ audience: 'review-service', actorToken: alice, now: seconds(), lifetime: 600 })
    for (let i = 0; i < 3; i++) await aging.verify(bearer(w, { 'x-meshguard-actor': alice }))
    expect(aging.stats().cacheHits).toBeGreaterThan(0)
    clock += 121_000
    expect(await reason(aging.verify(bearer(w, { 'x-meshguard-actor': alice })))).toBe('token_too_old')

    // (b) the signing key is removed from a refreshed JWKS.
    clock = start
    const k1 = generateFixtureKey('EdDSA', 'k1')
    let served = [k1.publicJwk]
    const jwks = async (): Promise<Response> => new Response(JSON.stringify({ keys: served }), { status: 200 })
    const remote = createIdentityVerifier({
      audience: REVIEW,
      trust: createTrustBundle({
        workloads: [{ issuer: EMPLOYEE, keys: { jwksUrl: 'http://127.0.0.1:9/jwks', fetch: jwks, cacheMaxAgeMs: 60_000 } }],
        clock: () => clock,
      }),
      clock: () => clock,
      signatureCheck: 'inline',
    })
    const signed = await wl({ audience: 'review-service', signWith: k1, header: { kid: 'k1' }, now: seconds() })
    for (let i = 0; i < 3; i++) await remote.verify(bearer(signed))
    expect(remote.stats().cacheHits).toBeGreaterThan(0)
    served = []
    clock += 61_000
    // Stale-while-revalidate (issue 22): the stale set still answers while the refresh that notices
    // the removal runs, so a hanging endpoint adds no latency...
    await remote.verify(bearer(signed))
    await new Promise((resolve) => setImmediate(resolve))
    // ...and once that refresh has landed the key is gone, cached verification or not.
    expect(await reason(remote.verify(bearer(signed)))).toBe('unknown_key')

    // (c) the key is dropped from a JWKS file.
    const dir = mkdtempSync(join(tmpdir(), 'mg-t31-'))
    try {
      clock = start
      const file = join(dir, 'jwks.json')
      writeFileSync(file, JSON.stringify({ keys: [k1.publicJwk] }))
      const filed = createIdentityVerifier({
        audience: REVIEW,
        trust: createTrustBundle({ workloads: [{ issuer: EMPLOYEE, keys: { jwksFile: file } }], clock: () => clock }),
        clock: () => clock,
        signatureCheck: 'inline',
      })
      for (let i = 0; i < 3; i++) await filed.verify(bearer(signed))
      expect(filed.stats().cacheHits).toBeGreaterThan(0)
      writeFileSync(file, JSON.stringify({ keys: [] }))
      utimesSync(file, new Date(), new Date(Date.now() + 10_000))
      clock += 1500
      expect(await reason(filed.verify(bearer(signed)))).toBe('unknown_key')
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })

  it('T32 a redirect chain that leaves the mapped origin never carries identity again, even back to it', async () => {
    const seen: { path: string; authorization: string | undefined }[] = []
    const mapped = createServer((req, res) => {
      seen.push({ path: req.url ?? '', authorization: req.headers.authorization })
      if (req.url === '/start') res.writeHead(302, { location: `${foreignUrl}/bounce` }).end()
      else res.writeHead(200).end('done')
    })
    const foreign = createServer((_req, res) => res.writeHead(307, { location: `${mappedUrl}/admin/delete` }).end())
    const listen = (server: ReturnType<typeof createServer>) =>
      new Promise<string>((resolve) => server.listen(0, '127.0.0.1', () => resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`)))
    const mappedUrl = await listen(mapped)
    const foreignUrl = await listen(foreign)
    const fetch = createMeshguardFetch({ identity: ids.workloadIdentity('employee-service'), destinations: { [mappedUrl]: REVIEW }, acting: () => undefined })
    try {
      const res = await fetch(`${mappedUrl}/start`)
      expect(await res.text()).toBe('done')
      expect(seen.map((r) => [r.path, r.authorization !== undefined])).toEqual([
        ['/start', true],
        ['/admin/delete', false],
      ])
    } finally {
      await fetch.close()
      mapped.closeAllConnections()
      foreign.closeAllConnections()
      await Promise.all([new Promise((r) => mapped.close(r)), new Promise((r) => foreign.close(r))])
    }
  })

  it('T33 JWS JSON serialization is token_malformed, and oversized headers are refused before any scan', async () => {
    const token = await wl({ audience: 'review-service' })
    const [h, p, sig] = parts(token)
    const json = JSON.stringify({ payload: p, signatures: [{ protected: h, signature: sig }, { protected: h, signature: sig }] })
    expect(await reason(atReview.verify({ authorization: `Bearer ${json}` }))).toBe('token_malformed')
    const actor = await ids.mintActorToken('alice')
    const bound = await wl({ audience: 'review-service', actorToken: actor })
    const [ah, ap, as] = parts(actor)
    const failure = await atReview.verify(bearer(bound, { 'x-meshguard-actor': JSON.stringify({ payload: ap, protected: ah, signature: as }) })).catch((e: unknown) => e)
    expect(failure).toMatchObject({ reason: 'token_malformed', tokenKind: 'actor' })
    // A megabyte of commas is too large, not a duplicate.
    expect(await reason(atReview.verify({ authorization: `Bearer ${'a,'.repeat(500_000)}` }))).toBe('token_too_large')
    const huge = await atReview.verify(bearer(bound, { 'x-meshguard-actor': 'x,'.repeat(500_000) })).catch((e: unknown) => e)
    expect(huge).toMatchObject({ reason: 'token_too_large', tokenKind: 'actor' })
  })
})

describe('threats of issue 18: replay, revocation, sender constraint, discovery, tenants', () => {
  it('T41 a workload token replayed at the same callee is refused in one-time-use mode, cached or not', async () => {
    const once = createIdentityVerifier(ids.verifierOptions('review-service', { replay: {} }))
    const token = await wl({ audience: 'review-service' })
    await once.verify(bearer(token))
    expect(await reason(once.verify(bearer(token)))).toBe('token_replayed')
    expect(await reason(once.verify(bearer(await wl({ audience: 'review-service', claims: { jti: undefined } }))))).toBe('claim_missing')
  })

  it('T42 a revoked session keeps working until expiry', async () => {
    const verifier = createIdentityVerifier(ids.verifierOptions('review-service', { revocation: { check: (t) => t.sid === 'stolen' } }))
    const actor = await ids.mintActorToken('alice', { claims: { sid: 'stolen' } })
    const headers = bearer(await wl({ audience: 'review-service', actorToken: actor }), { 'x-meshguard-actor': actor })
    expect(await reason(verifier.verify(headers))).toBe('token_revoked')
    const failing = createIdentityVerifier(ids.verifierOptions('review-service', { revocation: { check: () => Promise.reject(new Error('down')) } }))
    expect(await reason(failing.verify(headers))).toBe('revocation_unavailable')
  })

  it('T43 a sender-constrained (DPoP) token presented as a bearer token', async () => {
    const edge = createEdgeVerifier({ trust: ids.trust() })
    const bound = await ids.mintActorToken('alice', { claims: { cnf: { jkt: 'thumbprint-of-the-client-key' } } })
    const request = { method: 'GET', url: 'https://gateway.example/api', headers: { authorization: `Bearer ${bound}` } }
    expect(await reason(edge.verify(request))).toBe('dpop_required')
    const mtls = await ids.mintActorToken('alice', { claims: { cnf: { 'x5t#S256': 'abc' } } })
    expect(await reason(edge.verify({ ...request, headers: { authorization: `Bearer ${mtls}` } }))).toBe('cnf_unsupported')
    // Past the edge, only an ath-bound workload token may carry it.
    const unbinding = createIdentityVerifier({ ...ids.verifierOptions('review-service'), trust: { ...ids.trust(), workloads: workloadsOf(ids.trust()).map((w) => ({ ...w, requireActorBinding: false })) } })
    expect(await reason(unbinding.verify(bearer(await wl({ audience: 'review-service' }), { 'x-meshguard-actor': bound })))).toBe('actor_binding_mismatch')
  })

  it('T44 a discovery document that names another issuer (or a JWKS off the allowed schemes)', async () => {
    const server = createServer((_req, res) => res.end(JSON.stringify({ issuer: 'https://attacker.example', jwks_uri: 'https://attacker.example/keys' })))
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    try {
      const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
      const verifier = createIdentityVerifier({ audience: REVIEW, trust: { workloads: ids.trust().workloads, actors: [{ issuer, audiences: ['meshguard'] }] } })
      const actor = await ids.mintActorToken('alice', { claims: { iss: issuer } })
      expect(await reason(verifier.verify(bearer(await wl({ audience: 'review-service', actorToken: actor }), { 'x-meshguard-actor': actor })))).toBe('discovery_unavailable')
    } finally {
      await new Promise((resolve) => server.close(resolve))
    }
  })

  it('T45 a multi-tenant rule that would trust any issuer', async () => {
    const family = { issuerTemplate: 'https://login.example.com/{tenant}/v2.0', audiences: ['meshguard'] }
    const build = (extra: object): unknown => createTrustBundle({ workloads: [], actorIssuerFamilies: [{ ...family, ...extra } as never] })
    expect(() => build({ tenants: [] })).toThrow(ConfigError)
    expect(() => build({})).toThrow(ConfigError)
    expect(() => build({ tenants: ['acme'], issuerTemplate: 'https://{tenant}.example.com/' })).toThrow(ConfigError)
    const verifier = createIdentityVerifier({ audience: REVIEW, trust: { workloads: ids.trust().workloads, actorIssuerFamilies: [{ ...family, tenants: ['acme'] }] } })
    const actor = await ids.mintActorToken('alice', { claims: { iss: 'https://login.example.com/evil/v2.0' } })
    expect(await reason(verifier.verify(bearer(await wl({ audience: 'review-service', actorToken: actor }), { 'x-meshguard-actor': actor })))).toBe('unknown_issuer')
  })
})

describe('threats at the edge and on route claims', () => {
  const engine = (): EmbeddedEngine => EmbeddedEngine.fromSources([{ file: 'edge-review.yaml', text: EDGE_POLICY }])
  const view = (headers: HeaderView, target = '/reviews/r1', method = 'GET') => ({ method, target, headers, params: { id: 'r1' }, request: null })
  // alice manages engineering: the policy allows her this review once she is verified.
  const route = { resource: () => ({ kind: 'review', id: 'r1', attr: { department: 'engineering' } }), action: 'read' }
  const edgeGuard = (extra: Partial<EdgeOptions> = {}) =>
    createGuard({ engine: engine(), service: 'gateway', edge: { trust: { workloads: [], actors: ids.trust().actors }, origin: 'https://api.example.com', ...extra } })
  const refusal = async (outcome: Promise<GuardOutcome>): Promise<{ status: number; reason: string }> => {
    const answer = await outcome
    if (answer.ok) throw new Error('expected a refusal, but the request was allowed')
    return { status: answer.status, reason: answer.problem.reason }
  }

  it('T57 a DPoP proof made for another origin, even with a Host header naming it', async () => {
    const key = clientKey()
    const token = await ids.mintActorToken('alice', { claims: { cnf: { jkt: key.jkt } } })
    const guard = edgeGuard()
    const sent = (url: string, host: string) => view({ authorization: `DPoP ${token}`, dpop: proof(key, { method: 'GET', url, token }), host })
    // The edge's origin is configured, never read from the request: a proof for another server stays there.
    expect(await refusal(guard.authorize(sent('https://attacker.example/reviews/r1', 'attacker.example'), route))).toEqual({ status: 401, reason: 'dpop_proof_invalid' })
    // An absolute-form request target cannot choose the origin either: only its path is used.
    const absolute = { ...sent('https://attacker.example/reviews/r1', 'api.example.com'), target: 'https://attacker.example/reviews/r1' }
    expect(await refusal(guard.authorize(absolute, route))).toEqual({ status: 401, reason: 'dpop_proof_invalid' })
    expect((await guard.authorize(sent('https://api.example.com/reviews/r1', 'attacker.example'), route)).ok).toBe(true)
  })

  it('T60 a DPoP proof without the server nonce, and one with a nonce the edge never issued', async () => {
    const key = clientKey()
    const token = await ids.mintActorToken('alice', { claims: { cnf: { jkt: key.jkt } } })
    const guard = edgeGuard({ dpop: { nonce: { secret: 'a-nonce-secret-of-at-least-32-bytes!' } } })
    const url = 'https://api.example.com/reviews/r1'
    const sent = (nonce?: string) => view({ authorization: `DPoP ${token}`, dpop: proof(key, { method: 'GET', url, token }, nonce === undefined ? {} : { claims: { nonce } }) })
    const first = await guard.authorize(sent(), route)
    if (first.ok) throw new Error('a proof without a nonce was accepted')
    expect([first.status, first.problem.reason]).toEqual([401, 'dpop_nonce_required'])
    expect(first.headers['www-authenticate']).toBe('DPoP realm="gateway", error="use_dpop_nonce", algs="EdDSA Ed25519 ES256 ES384 PS256 RS256"')
    const nonce = first.headers['dpop-nonce']
    expect(nonce).toMatch(/^[0-9a-z]+\.[A-Za-z0-9_-]+$/)
    expect(await refusal(guard.authorize(sent(`${nonce!.split('.')[0]}.forged`), route))).toEqual({ status: 401, reason: 'dpop_nonce_required' })
    expect((await guard.authorize(sent(nonce), route)).ok).toBe(true)
  })

  it('T61 an unbound bearer token where the edge requires DPoP', async () => {
    const guard = edgeGuard({ dpop: { required: true } })
    const bearerToken = view({ authorization: `Bearer ${await ids.mintActorToken('alice')}` })
    const answer = await guard.authorize(bearerToken, route)
    if (answer.ok) throw new Error('an unbound token was accepted where DPoP is required')
    expect([answer.status, answer.problem.reason]).toEqual([401, 'dpop_required'])
    // Only the DPoP scheme is offered: nothing invites the client to retry as a bearer.
    expect(answer.headers['www-authenticate']).toBe('DPoP realm="gateway", error="invalid_token", algs="EdDSA Ed25519 ES256 ES384 PS256 RS256"')
  })

  it('T58 claims asserted by headers, the workload token or an inherited member never meet a route requirement', async () => {
    const guard = createGuard({ engine: engine(), identity: createIdentityVerifier(ids.verifierOptions('review-service')), service: 'review-service' })
    const actor = await ids.mintActorToken('alice')
    const workload = await wl({ audience: 'review-service', actorToken: actor, claims: { tenant: 'acme', acr: 'urn:example:mfa' } })
    const headers = bearer(workload, { 'x-meshguard-actor': actor, 'x-tenant': 'acme', 'x-acr': 'urn:example:mfa', tenant: 'acme' })
    expect(await refusal(guard.authorize(view(headers), { ...route, claims: { tenant: 'acme' } }))).toEqual({ status: 403, reason: 'insufficient_claims' })
    expect(await refusal(guard.authorize(view(headers), { ...route, claims: { acr: 'urn:example:mfa' } }))).toEqual({ status: 401, reason: 'insufficient_user_authentication' })
    // Claims are looked up as own members: an inherited `constructor` or `toString` is not a claim.
    expect(await refusal(guard.authorize(view(headers), { ...route, claims: { constructor: ['Object', 'function Object() { [native code] }'] } }))).toEqual({ status: 403, reason: 'insufficient_claims' })
  })

  it('T59 an edge whose dependencies fail never falls back: 503, and no second verifier beside it', async () => {
    const opaque = { authorization: 'Bearer opaque-token-value' }
    const down = edgeGuard({ introspection: { issuer: USER_ISSUER, endpoint: 'http://127.0.0.1:9/introspect', clientId: 'edge', clientSecret: 'secret', timeoutMs: 500 } })
    expect(await refusal(down.authorize(view(opaque), route))).toEqual({ status: 503, reason: 'introspection_unavailable' })
    const unreachableKeys = createGuard({ engine: engine(), service: 'gateway', edge: { trust: { workloads: [], actors: [{ issuer: USER_ISSUER, keys: { jwksUrl: 'http://127.0.0.1:9/jwks' }, audiences: ['meshguard'] }] }, origin: 'https://api.example.com' } })
    expect(await refusal(unreachableKeys.authorize(view(bearer(await ids.mintActorToken('alice'))), route))).toMatchObject({ status: 503 })
    const txnDown = edgeGuard({ txnTokens: { clientId: serviceId('gateway'), exchange: () => Promise.reject(new UnavailableError('txn_token_service_unavailable', 'down')) } })
    expect(await refusal(txnDown.authorize(view(bearer(await ids.mintActorToken('alice'))), { ...route, scope: 'review.read' }))).toEqual({ status: 503, reason: 'txn_token_service_unavailable' })
    expect(() => createGuard({ engine: engine(), service: 'gateway', identity: atReview, edge: { trust: ids.trust(), origin: 'https://api.example.com' } })).toThrow(ConfigError)
    expect(() => edgeGuard({ origin: 'https://api.example.com/prefix?x=1' })).toThrow(ConfigError)
  })
})

describe('configuration that would weaken the checks is refused', () => {
  it('rejects symmetric algorithms, private keys in bundles and unbounded identities', () => {
    const key = generateKeyPairSync('ed25519')
    const privateJwk = { ...(key.privateKey.export({ format: 'jwk' }) as Record<string, unknown>), kid: 'p' }
    const base: Omit<IdentityVerifierOptions, 'trust'> = { audience: REVIEW }
    expect(() => createIdentityVerifier({ ...base, trust: { workloads: [{ issuer: EMPLOYEE, keys: { jwks: { keys: [] } }, algorithms: ['HS256'] }] } })).toThrow(
      ConfigError,
    )
    expect(() =>
      createIdentityVerifier({ ...base, trust: { workloads: [{ issuer: EMPLOYEE, keys: { jwks: { keys: [privateJwk as never] } } }] } }),
    ).toThrow(ConfigError)
    expect(() => createIdentityVerifier({ ...base, trust: { workloads: [{ issuer: 'https://as.example', keys: { jwks: { keys: [] } } }] } })).toThrow(
      ConfigError,
    )
    expect(() =>
      createIdentityVerifier({ ...base, trust: { workloads: [], actors: [{ issuer: USER_ISSUER, keys: { jwks: { keys: [] } }, audiences: [] }] } }),
    ).toThrow(ConfigError)
  })
})
