import { createHash } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { MintError } from '../../src/errors.js'
import { witIssuerSource } from '../../src/wimse.js'

const ISSUER = 'http://127.0.0.1:8443'
const ATTESTATION = 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln'

const part = (token: string, i: number): Record<string, unknown> => JSON.parse(Buffer.from(token.split('.')[i] ?? '', 'base64url').toString('utf8')) as Record<string, unknown>
const b64 = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url')

/**
 * A stand-in issuer (the real one is tested over HTTP in test/txn-token-service): it answers with
 * an unsigned WIT binding the proof's key, and records what it was sent.
 */
function fakeIssuer(clock: () => number, lifetime = 600) {
  const sent: Array<{ body: Record<string, unknown>; proofHeader: Record<string, unknown>; proofClaims: Record<string, unknown> }> = []
  let behaviour: 'answer' | 'hang' | 'refuse' = 'answer'
  const fetch: typeof globalThis.fetch = (_url, init) => {
    const body = JSON.parse(init?.body as string) as Record<string, unknown>
    const proof = String(body['proof'])
    sent.push({ body, proofHeader: part(proof, 0), proofClaims: part(proof, 1) })
    if (behaviour === 'hang') {
      return new Promise((_resolve, reject) => init?.signal?.addEventListener('abort', () => reject(new Error('aborted'))))
    }
    if (behaviour === 'refuse') return Promise.resolve(Response.json({ error: 'unauthorized_client', error_description: 'no' }, { status: 400 }))
    const iat = Math.floor(clock() / 1000)
    const wit = `${b64({ alg: 'ES256', typ: 'wit+jwt', kid: 'w' })}.${b64({ sub: 'spiffe://example.org/ns/a/sa/b', iat, exp: iat + lifetime, cnf: { jwk: part(proof, 0)['jwk'] } })}.c2ln`
    return Promise.resolve(Response.json({ wit, sub: 'spiffe://example.org/ns/a/sa/b', expires_at: iat + lifetime }))
  }
  return { fetch, sent, set: (next: typeof behaviour) => (behaviour = next) }
}

describe('witIssuerSource', () => {
  it('sends the attestation with a proof by a fresh key per WIT, bound to the attestation and the issuer', async () => {
    let now = Date.parse('2026-12-07T12:00:00Z')
    const issuer = fakeIssuer(() => now)
    const source = witIssuerSource({ issuerUrl: `${ISSUER}/`, attestationType: 'kubernetes_sa_token', attestation: () => `${ATTESTATION}\n`, fetch: issuer.fetch, clock: () => now, alg: 'EdDSA' })
    const first = await source.current()
    now += 301_000
    void source.current() // starts the refresh; the poll below waits for it
    await expect.poll(() => issuer.sent.length).toBe(2)
    const [a, b] = issuer.sent
    expect(a?.body).toMatchObject({ attestation_type: 'kubernetes_sa_token', attestation: ATTESTATION })
    expect(a?.proofHeader).toMatchObject({ alg: 'EdDSA', typ: 'wit-pop+jwt', jwk: { kty: 'OKP', crv: 'Ed25519', alg: 'EdDSA' } })
    expect(a?.proofHeader['jwk']).not.toHaveProperty('d')
    expect(a?.proofClaims).toMatchObject({ aud: ISSUER, ath: createHash('sha256').update(ATTESTATION).digest('base64url') })
    expect(a?.proofClaims['jti']).not.toBe(b?.proofClaims['jti'])
    expect(a?.proofHeader['jwk']).not.toEqual(b?.proofHeader['jwk'])
    expect(first.alg).toBe('EdDSA')
    await source.close?.()
  })

  it('never makes a caller wait while a valid WIT is held, even when the issuer hangs', async () => {
    let now = Date.parse('2026-12-07T12:00:00Z')
    const issuer = fakeIssuer(() => now)
    const source = witIssuerSource({ issuerUrl: ISSUER, attestationType: 'spiffe_jwt_svid', attestation: () => ATTESTATION, fetch: issuer.fetch, clock: () => now, timeoutMs: 50 })
    const held = await source.current()
    issuer.set('hang')
    now += 500_000
    // Synchronous answers: no promise to wait for.
    expect(source.current()).toBe(held)
    expect(source.current()).toBe(held)
    // Once it has expired, a caller gets a typed error (the hung request is aborted by the timeout).
    now = (held.expiresAt + 1) * 1000
    const error = await Promise.resolve(source.current()).catch((err: unknown) => err)
    expect(error).toBeInstanceOf(MintError)
    expect(['wit_issuer_unavailable', 'wit_unavailable']).toContain((error as MintError).reason)
    await source.close?.()
  })

  it('refuses an issuer refusal, and an expired WIT as an answer', async () => {
    const now = Date.parse('2026-12-07T12:00:00Z')
    const refusing = fakeIssuer(() => now)
    refusing.set('refuse')
    const source = witIssuerSource({ issuerUrl: ISSUER, attestationType: 'private_key_jwt', attestation: () => ATTESTATION, fetch: refusing.fetch, clock: () => now })
    const error = await Promise.resolve(source.current()).catch((err: unknown) => err)
    expect(error).toMatchObject({ reason: 'wit_issuer_refused' })
    expect((error as MintError).message).toContain('unauthorized_client')
    await source.close?.()

    // An issuer whose clock is an hour behind hands out WITs already expired here.
    const late = fakeIssuer(() => now - 3_600_000)
    const stale = witIssuerSource({ issuerUrl: ISSUER, attestationType: 'private_key_jwt', attestation: () => ATTESTATION, fetch: late.fetch, clock: () => now })
    expect(await Promise.resolve(stale.current()).catch((err: unknown) => err)).toMatchObject({ reason: 'wit_response_invalid' })
    await stale.close?.()
  })

  it('refuses an empty, failing or hung attestation without asking the issuer', async () => {
    const issuer = fakeIssuer(Date.now)
    const hung = (): Promise<string> => new Promise<string>(() => undefined)
    for (const attestation of [() => '  ', () => Promise.reject(new Error('no such file')), hung]) {
      const source = witIssuerSource({ issuerUrl: ISSUER, attestationType: 'kubernetes_sa_token', attestation, fetch: issuer.fetch, timeoutMs: 20 })
      expect(await Promise.resolve(source.current()).catch((err: unknown) => err)).toMatchObject({ reason: 'wit_attestation_unavailable' })
      await source.close?.()
    }
    expect(issuer.sent).toHaveLength(0)
  })
})
