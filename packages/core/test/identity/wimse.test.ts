/**
 * WIMSE receiving (WIT + WPT) and minting: each receiver check with its stable reason, the WIT cache
 * answering exactly what a fresh check would, roles only from attribute authorities, the profile
 * dispatch, and the minting side's proofs verified by the receiver.
 */
import { mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { beforeAll, describe, expect, it, vi } from 'vitest'
import { MeshguardError } from '../../src/errors.js'
import type { Principal } from '../../src/types.js'
import { createIdentityVerifier, type IdentityVerifier, type IdentityVerifierOptions } from '../../src/identity/index.js'
import { createWimseIdentity, staticWitSource } from '../../src/wimse.js'
import { witFileSource } from '../../src/node.js'
import { wptChallengeOf } from '../../src/identity/wimse-wire.js'
import { createWimseFixture, rawWpt, wimseHeaders, workloadId, type WimseFixture } from '../../../../test/support/wimse.js'
import { createIdentityFixture, generateFixtureKey, type IdentityFixture } from '../../../../test/support/identity.js'
import { createTxnTokenFixture, type TxnTokenFixture } from '../../../../test/support/txn-tokens.js'

const ORIGIN = 'https://reviews.example.org'
const PATH = '/reviews/7'
const AUD = ORIGIN + PATH

let fx: WimseFixture
let other: WimseFixture
let ids: IdentityFixture
let tts: TxnTokenFixture

function verifierWith(options: Partial<IdentityVerifierOptions> = {}, trust: Record<string, unknown> = {}): IdentityVerifier {
  return createIdentityVerifier({
    trust: { workloadIssuers: [fx.trust()], txnTokens: tts.trust(), ...trust },
    wimse: { origins: [ORIGIN] },
    signatureCheck: 'inline',
    ...options,
  })
}

/** A verified principal's attributes, which it always has (fails the test if it has none). */
function attrOf(principal: Principal): Record<string, unknown> {
  if (principal.attr === undefined) throw new Error('principal without attributes')
  return principal.attr
}

async function refusal(verifier: IdentityVerifier, headers: Record<string, string | string[]>, target = PATH): Promise<MeshguardError> {
  const outcome = await verifier.verify(headers, { target }).then(
    () => undefined,
    (err: unknown) => err,
  )
  if (outcome === undefined) throw new Error('expected a refusal, but it succeeded')
  expect(outcome).toBeInstanceOf(MeshguardError)
  return outcome as MeshguardError
}
const reason = async (verifier: IdentityVerifier, headers: Record<string, string | string[]>, target = PATH): Promise<string> => (await refusal(verifier, headers, target)).reason

beforeAll(async () => {
  fx = createWimseFixture()
  other = createWimseFixture({ trustDomain: 'other.example' })
  ids = await createIdentityFixture({ services: ['caller', 'callee'] })
  tts = createTxnTokenFixture(ids)
})

describe('WIMSE receiving', () => {
  it('accepts a WIT + WPT for this target, with the workload as principal and no roles from the token', async () => {
    const verifier = verifierWith()
    const cred = await fx.credential('orders')
    const caller = await verifier.verify(wimseHeaders(cred, await rawWpt(cred, { aud: AUD })), { target: `${PATH}?page=2` })
    expect(caller.workload.id).toBe(workloadId('orders'))
    expect(caller.workload.selfSigned).toBe(false)
    expect(caller.principal.id).toBe(workloadId('orders'))
    expect(caller.principal.roles).toEqual(['orders'])
    expect(caller.expiresAt).toBeLessThanOrEqual((Math.floor(Date.now() / 1000) + 61) * 1000)
  })

  it('accepts an EdDSA proof key and a configured alias audience', async () => {
    const verifier = verifierWith({ wimse: { origins: [ORIGIN], audiences: ['spiffe://example.org/ns/default/sa/reviews'] } })
    const cred = await fx.credential('orders', { proofAlg: 'EdDSA' })
    const caller = await verifier.verify(wimseHeaders(cred, await rawWpt(cred, { aud: 'spiffe://example.org/ns/default/sa/reviews' })), { target: '/anything' })
    expect(caller.workload.id).toBe(workloadId('orders'))
  })

  it('accepts the application/wpt+jwt spelling and wimse:// identifiers', async () => {
    const verifier = verifierWith()
    const cred = await fx.credential('orders', { claims: { sub: 'wimse://example.org/ns/default/orders' } })
    const wpt = await rawWpt({ ...cred, sub: 'wimse://example.org/ns/default/orders' }, { aud: AUD, header: { typ: 'application/wpt+jwt' } })
    const caller = await verifier.verify(wimseHeaders(cred, wpt), { target: PATH })
    expect([caller.workload.id, caller.workload.trustDomain]).toEqual(['wimse://example.org/ns/default/orders', 'example.org'])
  })

  it('binds the Txn-Token by tth and hands its user and transaction to the principal', async () => {
    const verifier = verifierWith()
    const cred = await fx.credential('orders')
    const txnToken = await tts.mint()
    const headers = { ...wimseHeaders(cred, await rawWpt(cred, { aud: AUD, txnToken })), 'txn-token': txnToken }
    const caller = await verifier.verify(headers, { target: PATH })
    expect(caller.actor?.id).toBe('alice')
    expect(caller.txn?.scope).toEqual(['review.read'])
    expect(caller.transactionId).toBe(caller.txn?.id)
    // tth present, Txn-Token stripped; Txn-Token added, tth missing; another Txn-Token.
    expect(await reason(verifier, wimseHeaders(cred, await rawWpt(cred, { aud: AUD, txnToken })))).toBe('wpt_unbound')
    expect(await reason(verifier, { ...wimseHeaders(cred, await rawWpt(cred, { aud: AUD })), 'txn-token': txnToken })).toBe('wpt_unbound')
    const another = await tts.mint()
    expect(await reason(verifier, { ...wimseHeaders(cred, await rawWpt(cred, { aud: AUD, txnToken })), 'txn-token': another })).toBe('wpt_unbound')
  })

  it('checks revocation on both credentials, the WIT and the Txn-Token carrying the user', async () => {
    const revoked = new Set<string>()
    const asked: string[] = []
    const verifier = verifierWith({
      revocation: {
        // Every request asks afresh (the hook's answers are otherwise kept for cacheTtlMs).
        cacheTtlMs: 0,
        check: (token) => {
          asked.push(`${token.kind}:${String(token.sub)}`)
          return revoked.has(`${token.kind}:${String(token.sub)}`)
        },
      },
    })
    const cred = await fx.credential('orders')
    const send = async (): Promise<Record<string, string>> => {
      const txnToken = await tts.mint()
      return { ...wimseHeaders(cred, await rawWpt(cred, { aud: AUD, txnToken })), 'txn-token': txnToken }
    }
    expect((await verifier.verify(await send(), { target: PATH })).actor?.id).toBe('alice')
    expect(asked).toEqual([`workload:${workloadId('orders')}`, 'actor:alice'])
    revoked.add('actor:alice')
    const userRevoked = await refusal(verifier, await send())
    expect([userRevoked.reason, (userRevoked as MeshguardError & { tokenKind?: string }).tokenKind]).toEqual(['token_revoked', 'actor'])
    revoked.clear()
    revoked.add(`workload:${workloadId('orders')}`)
    expect(await reason(verifier, await send())).toBe('token_revoked')
  })

  it('refuses each broken WIT with its reason', async () => {
    const verifier = verifierWith()
    const wpt = async (cred: Awaited<ReturnType<WimseFixture['credential']>>): Promise<Record<string, string>> => wimseHeaders(cred, await rawWpt(cred, { aud: AUD }))
    expect(await reason(verifier, await wpt(await other.credential('orders')))).toBe('wit_untrusted_domain')
    expect(await reason(verifier, await wpt(await fx.credential('orders', { lifetime: -120 })))).toBe('wit_expired')
    expect(await reason(verifier, await wpt(await fx.credential('orders', { header: { typ: 'JWT' } })))).toBe('wit_invalid')
    expect(await reason(verifier, await wpt(await fx.credential('orders', { header: { crit: ['x'] } })))).toBe('wit_invalid')
    expect(await reason(verifier, await wpt(await fx.credential('orders', { header: { kid: undefined } })))).toBe('wit_invalid')
    expect(await reason(verifier, await wpt(await fx.credential('orders', { signWith: generateFixtureKey('ES256', fx.issuer.kid) })))).toBe('wit_invalid')
    expect(await reason(verifier, await wpt(await fx.credential('orders', { claims: { sub: 'https://example.org/orders' } })))).toBe('wit_invalid')
    expect(await reason(verifier, await wpt(await fx.credential('orders', { claims: { cnf: undefined } })))).toBe('wit_invalid')
    expect(await reason(verifier, await wpt(await fx.credential('orders', { claims: { cnf: { jwk: { kty: 'oct', k: 'AAAA', alg: 'HS256' } } } })))).toBe('wit_invalid')
    expect(await reason(verifier, { authorization: `WPT ${await rawWpt(await fx.credential('orders'), { aud: AUD })}` })).toBe('wit_missing')
  })

  it('refuses each broken WPT with its reason', async () => {
    const verifier = verifierWith()
    const cred = await fx.credential('orders')
    const send = async (spec: Partial<Parameters<typeof rawWpt>[1]>, target = PATH): Promise<string> => reason(verifier, wimseHeaders(cred, await rawWpt(cred, { aud: AUD, ...spec })), target)
    expect(await send({ header: { typ: 'JWT' } })).toBe('wpt_invalid')
    expect(await send({ header: { alg: 'EdDSA' } })).toBe('wpt_invalid')
    expect(await send({ signWith: generateFixtureKey('ES256') })).toBe('wpt_invalid')
    expect(await send({ lifetime: -60 })).toBe('wpt_expired')
    expect(await send({ lifetime: 3600 })).toBe('wpt_invalid')
    expect(await send({ claims: { jti: undefined } })).toBe('wpt_invalid')
    expect(await send({ aud: `${ORIGIN}/reviews/8` })).toBe('wpt_aud')
    expect(await send({ aud: 'https://evil.example.org/reviews/7' })).toBe('wpt_aud')
    expect(await send({ claims: { wth: 'x' } })).toBe('wpt_unbound')
    expect(await send({ claims: { oth: { 'x-context': 'abc' } } })).toBe('wpt_unbound')
    // No target known: only aliases could match.
    expect(await reason(verifier, wimseHeaders(cred, await rawWpt(cred, { aud: AUD })), '')).toBe('wpt_aud')
  })

  it('accepts each (sub, jti) once', async () => {
    const verifier = verifierWith()
    const cred = await fx.credential('orders')
    const headers = wimseHeaders(cred, await rawWpt(cred, { aud: AUD, jti: 'one' }))
    await verifier.verify(headers, { target: PATH })
    expect(await reason(verifier, headers)).toBe('wpt_replay')
    // The same jti from another workload is another key.
    const second = await fx.credential('payments')
    await verifier.verify(wimseHeaders(second, await rawWpt(second, { aud: AUD, jti: 'one' })), { target: PATH })
  })

  it('fails closed when the replay store fails', async () => {
    const verifier = verifierWith({ replay: { store: { consume: () => { throw new Error('down') } } } })
    const cred = await fx.credential('orders')
    expect(await reason(verifier, wimseHeaders(cred, await rawWpt(cred, { aud: AUD })))).toBe('replay_store_unavailable')
  })

  it('takes roles and attributes from the WIT only when its issuer is an attribute authority', async () => {
    const asserted = { roles: ['billing-admin'], attr: { tier: 'gold' } }
    const plain = verifierWith()
    const authority = verifierWith({}, { workloadIssuers: [fx.trust({ attributeAuthority: true, roles: ['mesh'] })] })
    const cred = await fx.credential('orders', { asserted })
    const fromPlain = await plain.verify(wimseHeaders(cred, await rawWpt(cred, { aud: AUD })), { target: PATH })
    expect(fromPlain.principal.roles).toEqual(['orders'])
    expect(attrOf(fromPlain.principal)['wit']).toBeUndefined()
    const fromAuthority = await authority.verify(wimseHeaders(cred, await rawWpt(cred, { aud: AUD })), { target: PATH })
    expect(fromAuthority.principal.roles).toEqual(['orders', 'mesh', 'billing-admin'])
    expect(attrOf(fromAuthority.principal)['wit']).toEqual({ tier: 'gold' })
    // A WPT cannot add roles: its claims never reach the principal.
    const loud = await fx.credential('orders')
    const withRoles = await authority.verify(wimseHeaders(loud, await rawWpt(loud, { aud: AUD, claims: { roles: ['root'], [`https://meshguard.dev/wit`]: { roles: ['root'] } } })), { target: PATH })
    expect(withRoles.principal.roles).toEqual(['orders', 'mesh'])
  })

  it('dispatches on the scheme: WPT only by default, both during a migration, never Bearer with a WIT', async () => {
    const wptOnly = verifierWith()
    const both = verifierWith({ audience: ids.services['callee']?.id as string, wimse: { origins: [ORIGIN], accept: 'wpt-and-bearer' } }, { workloads: ids.trust().workloads })
    const bearer = await ids.mintWorkloadToken('caller', { audience: 'callee' })
    const err = await refusal(wptOnly, { authorization: `Bearer ${bearer}` })
    expect(err.reason).toBe('wpt_required')
    expect(wptChallengeOf(err)).toBe('WPT')
    expect((await both.verify({ authorization: `Bearer ${bearer}` })).workload.id).toBe(ids.services['caller']?.id)
    const cred = await fx.credential('orders')
    expect((await both.verify(wimseHeaders(cred, await rawWpt(cred, { aud: AUD })), { target: PATH })).workload.id).toBe(workloadId('orders'))
    // A WIT with a Bearer token: no fallback.
    expect(await reason(both, { 'workload-identity-token': cred.wit, authorization: `Bearer ${bearer}` })).toBe('wpt_required')
    const missing = await refusal(both, {})
    expect(missing.reason).toBe('token_missing')
    expect(wptChallengeOf(missing)).toBe('WPT, Bearer')
  })

  it('takes wit-svid keys from a SPIFFE bundle, never its jwt-svid keys', async () => {
    const spiffeBundle = (use: string): Record<string, unknown> => ({ trustDomain: fx.trustDomain, keys: { jwks: { keys: [{ ...fx.issuer.publicJwk, use }] } } })
    const witSvid = verifierWith({}, { workloadIssuers: [spiffeBundle('wit-svid')] })
    const jwtSvid = verifierWith({}, { workloadIssuers: [spiffeBundle('jwt-svid')] })
    const cred = await fx.credential('orders')
    expect((await witSvid.verify(wimseHeaders(cred, await rawWpt(cred, { aud: AUD })), { target: PATH })).workload.id).toBe(cred.sub)
    expect(await reason(jwtSvid, wimseHeaders(cred, await rawWpt(cred, { aud: AUD })))).toBe('wit_invalid')
  })

  it('refuses duplicate WIMSE headers', async () => {
    const verifier = verifierWith()
    const cred = await fx.credential('orders')
    const wpt = await rawWpt(cred, { aud: AUD })
    expect(await reason(verifier, { 'workload-identity-token': [cred.wit, cred.wit], authorization: `WPT ${wpt}` })).toBe('duplicate_header')
    expect(await reason(verifier, { 'workload-identity-token': cred.wit, authorization: [`WPT ${wpt}`, `WPT ${wpt}`] })).toBe('duplicate_header')
    expect(await reason(verifier, { 'workload-identity-token': `${cred.wit}, ${cred.wit}`, authorization: `WPT ${wpt}` })).toBe('duplicate_header')
  })

  it('refuses configurations that cannot check the audience', () => {
    expect(() => createIdentityVerifier({ trust: { workloadIssuers: [fx.trust()] } })).toThrow(/identity\.wimse/)
    expect(() => createIdentityVerifier({ trust: { workloadIssuers: [fx.trust()] }, wimse: {} })).toThrow(/origins/)
    expect(() => createIdentityVerifier({ trust: { workloadIssuers: [fx.trust()] }, wimse: { origins: [ORIGIN], maxWptTtl: 301 } })).toThrow(/maxWptTtl/)
    expect(() => createIdentityVerifier({ trust: { workloadIssuers: [fx.trust()] }, wimse: { origins: [ORIGIN], clockSkew: 121 } })).toThrow(/clockSkew/)
    expect(() => createIdentityVerifier({ trust: { workloadIssuers: [fx.trust(), fx.trust()] }, wimse: { origins: [ORIGIN] } })).toThrow(/trustDomain/)
  })
})

describe('the WIT cache', () => {
  it('answers a known WIT without re-verifying it, and never past its exp', async () => {
    let now = Date.now()
    const verifier = verifierWith({ clock: () => now })
    const cred = await fx.credential('orders', { lifetime: 100 })
    await verifier.verify(wimseHeaders(cred, await rawWpt(cred, { aud: AUD })), { target: PATH })
    await verifier.verify(wimseHeaders(cred, await rawWpt(cred, { aud: AUD })), { target: PATH })
    expect(verifier.stats()).toMatchObject({ witCacheHits: 1, witCacheMisses: 1 })
    // Past exp + skew, the cached WIT is as expired as a fresh one (the WPT itself is still fresh by its own clock).
    now += 131_000
    const later = Math.floor(now / 1000)
    expect(await reason(verifier, wimseHeaders(cred, await rawWpt(cred, { aud: AUD, claims: { exp: later + 30 } })))).toBe('wit_expired')
    expect(verifier.stats()).toMatchObject({ witCacheHits: 1, witCacheMisses: 2 })
  })

  it('ends an entry once its signing key leaves the issuer key set', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'meshguard-wit-'))
    try {
      const file = join(dir, 'jwks.json')
      writeFileSync(file, JSON.stringify({ keys: [fx.issuer.publicJwk] }))
      let now = Date.now()
      const verifier = verifierWith({ clock: () => now }, { workloadIssuers: [fx.trust({ keys: { jwksFile: file } })], clock: () => now })
      const cred = await fx.credential('orders')
      await verifier.verify(wimseHeaders(cred, await rawWpt(cred, { aud: AUD })), { target: PATH })
      const rotated = generateFixtureKey('ES256', 'wit-issuer-2')
      writeFileSync(file, JSON.stringify({ keys: [rotated.publicJwk] }))
      utimesSync(file, new Date(now / 1000 + 5), new Date(now / 1000 + 5))
      now += 2000
      expect(await reason(verifier, wimseHeaders(cred, await rawWpt(cred, { aud: AUD })))).toBe('wit_invalid')
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})

describe('WIMSE minting', () => {
  it('signs a fresh proof per call that the receiver accepts once', async () => {
    const verifier = verifierWith()
    const cred = await fx.credential('orders')
    const identity = createWimseIdentity({ source: staticWitSource(cred) })
    const first = await identity.headersFor({ audience: 'spiffe://x/reviews', target: `${AUD}?q=1` })
    const second = await identity.headersFor({ audience: 'spiffe://x/reviews', target: AUD })
    expect(first['authorization']).not.toBe(second['authorization'])
    expect(first['workload-identity-token']).toBe(cred.wit)
    expect((await verifier.verify(first, { target: PATH })).workload.id).toBe(workloadId('orders'))
    expect((await verifier.verify(second, { target: PATH })).workload.id).toBe(workloadId('orders'))
    expect(await reason(verifier, first)).toBe('wpt_replay')
  })

  it('binds a Txn-Token and other context tokens, and never sends an actor token', async () => {
    const verifier = verifierWith({ wimse: { origins: [ORIGIN], otherTokens: ['x-context'] } })
    const cred = await fx.credential('orders')
    const identity = createWimseIdentity({ source: staticWitSource(cred), otherTokens: ['X-Context'] })
    const txnToken = await tts.mint({ lifetime: 20 })
    const headers = await identity.headersFor({ audience: 'a', target: AUD, txnToken, contextTokens: { 'x-context': ' ctx ' } })
    const exp = JSON.parse(Buffer.from((headers['authorization'] as string).slice(4).split('.')[1] as string, 'base64url').toString()) as { exp: number }
    expect(exp.exp).toBeLessThanOrEqual(Math.floor(Date.now() / 1000) + 20)
    expect((await verifier.verify({ ...headers, 'x-context': ' ctx ' }, { target: PATH })).actor?.id).toBe('alice')
    const again = await identity.headersFor({ audience: 'a', target: AUD, txnToken, contextTokens: { 'x-context': 'ctx' } })
    expect(await reason(verifier, { ...again, 'x-context': 'changed' })).toBe('wpt_unbound')
    await expect(identity.headersFor({ audience: 'a', target: AUD, actor: 'some.access.token' })).rejects.toMatchObject({ reason: 'actor_unbindable' })
  })

  it('refuses an expired credential before anything is sent', async () => {
    let now = Date.now()
    const cred = await fx.credential('orders', { lifetime: 10 })
    const identity = createWimseIdentity({ source: staticWitSource(cred, () => now), clock: () => now })
    now += 11_000
    await expect(identity.headersFor({ audience: 'a', target: AUD })).rejects.toMatchObject({ reason: 'wit_expired' })
  })

  it('reads a rotated credential from files in the background and never serves an expired one', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'meshguard-witfile-'))
    try {
      const witFile = join(dir, 'wit.jwt')
      const keyFile = join(dir, 'key.pem')
      const write = (cred: Awaited<ReturnType<WimseFixture['credential']>>, mtime: number): void => {
        writeFileSync(witFile, cred.wit)
        writeFileSync(keyFile, cred.privateKey.export({ format: 'pem', type: 'pkcs8' }))
        utimesSync(witFile, mtime, mtime)
        utimesSync(keyFile, mtime, mtime)
      }
      let now = Date.now()
      const first = await fx.credential('orders', { lifetime: 30 })
      write(first, now / 1000 - 10)
      const source = witFileSource({ witFile, keyFile, clock: () => now })
      // A valid credential is answered at once, never as a promise.
      expect((source.current() as { wit: string }).wit).toBe(first.wit)
      const second = await fx.credential('orders', { lifetime: 3600 })
      write(second, now / 1000)
      now += 1500
      // The change is picked up in the background; meanwhile the held (valid) credential serves.
      expect((source.current() as { wit: string }).wit).toBe(first.wit)
      await vi.waitFor(() => expect((source.current() as { wit: string }).wit).toBe(second.wit))
      // Past its exp, with only a half-rotated pair on disk (a WIT whose key file is not its cnf key):
      // the request waits for the re-read and is refused; neither the stale nor the unmatched WIT is served.
      writeFileSync(witFile, (await fx.credential('orders', { lifetime: 3600 * 3 })).wit)
      utimesSync(witFile, now / 1000 + 5, now / 1000 + 5)
      now += 3600_000
      await expect(source.current()).rejects.toMatchObject({ reason: 'wit_expired' })
      // An expired WIT replaced on disk: the waiting request gets the new one.
      const third = await fx.credential('orders', { lifetime: 3600 * 3 })
      write(third, now / 1000)
      expect((await source.current()).wit).toBe(third.wit)
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})

