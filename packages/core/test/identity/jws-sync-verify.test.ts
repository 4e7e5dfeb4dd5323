import { createPublicKey, generateKeyPairSync, sign, webcrypto, type KeyObject } from 'node:crypto'
import { compactVerify, importJWK, type JWK } from 'jose'
import { describe, expect, it } from 'vitest'
import { IdentityError } from '../../src/errors.js'
import { verifyJwsSignature } from '../../src/identity/verify/jws-sync-verify.js'

type Key = Parameters<typeof verifyJwsSignature>[1]

const b64 = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url')

interface Signer {
  readonly alg: string
  readonly privateKey: KeyObject
  readonly publicJwk: JWK
}

function signer(alg: string): Signer {
  const pair =
    alg.startsWith('ES')
      ? generateKeyPairSync('ec', { namedCurve: { ES256: 'P-256', ES384: 'P-384', ES512: 'P-521' }[alg] as string })
      : alg.startsWith('RS') || alg.startsWith('PS')
        ? generateKeyPairSync('rsa', { modulusLength: 2048 })
        : generateKeyPairSync('ed25519')
  return { alg, privateKey: pair.privateKey, publicJwk: pair.publicKey.export({ format: 'jwk' }) }
}

const DIGESTS: Record<string, string | null> = {
  ES256: 'sha256', ES384: 'sha384', ES512: 'sha512', RS256: 'sha256', PS256: 'sha256', PS384: 'sha384', EdDSA: null, Ed25519: null,
}

/** A compact JWS signed with node:crypto, independent of the code under test. */
function tokenOf(s: Signer, claims: Record<string, unknown> = { sub: 'x' }, alg = s.alg): string {
  const input = `${b64({ alg, kid: 'k1', typ: 'workload+jwt' })}.${b64(claims)}`
  const options = alg.startsWith('PS')
    ? { key: s.privateKey, padding: 6 /* RSA_PKCS1_PSS_PADDING */, saltLength: alg === 'PS256' ? 32 : 48 }
    : { key: s.privateKey, dsaEncoding: 'ieee-p1363' as const }
  return `${input}.${sign(DIGESTS[alg] ?? null, Buffer.from(input), options).toString('base64url')}`
}

/** The key as the trust bundle hands it out: imported by jose for one algorithm. */
const imported = async (s: Signer, alg = s.alg): Promise<Key> => (await importJWK(s.publicJwk, alg))

function reasonOf(fn: () => void | Promise<void>): string {
  let result: void | Promise<void>
  try {
    result = fn()
  } catch (err) {
    expect(err).toBeInstanceOf(IdentityError)
    return (err as IdentityError).reason
  }
  // These calls never offload: a promise here would hide its rejection from this check.
  expect(result).not.toBeInstanceOf(Promise)
  return 'verified'
}

/** What jose's WebCrypto path (the previous implementation) says about the same token and key. */
async function joseSays(token: string, key: Key, alg: string): Promise<boolean> {
  try {
    await compactVerify(token, key as Parameters<typeof compactVerify>[1], { algorithms: [alg] })
    return true
  } catch {
    return false
  }
}

const withSignature = (token: string, signature: string): string => `${token.slice(0, token.lastIndexOf('.'))}.${signature}`
const signatureOf = (token: string): Buffer => Buffer.from(token.slice(token.lastIndexOf('.') + 1), 'base64url')

describe('verifyJwsSignature', () => {
  const algs = ['ES256', 'ES384', 'ES512', 'RS256', 'PS256', 'PS384', 'EdDSA', 'Ed25519']
  const signers = new Map(algs.map((alg) => [alg, signer(alg)]))
  const get = (alg: string): Signer => signers.get(alg) as Signer

  it.each(algs)('accepts a valid %s token with the key jose imported, and with a public KeyObject', async (alg) => {
    const token = tokenOf(get(alg))
    expect(reasonOf(() => verifyJwsSignature(token, undefined as never, alg))).toBe('alg_not_allowed')
    expect(reasonOf(() => verifyJwsSignature(token, createPublicKey({ key: get(alg).publicJwk, format: 'jwk' }), alg))).toBe('verified')
    const key = await imported(get(alg))
    expect(reasonOf(() => verifyJwsSignature(token, key, alg))).toBe('verified')
    // The converted key is reused: a second check gives the same answer.
    expect(reasonOf(() => verifyJwsSignature(token, key, alg))).toBe('verified')
  })

  it.each(algs)('refuses a %s token whose payload, header or signature was altered', async (alg) => {
    const key = await imported(get(alg))
    const token = tokenOf(get(alg))
    const [header, , signature] = token.split('.') as [string, string, string]
    expect(reasonOf(() => verifyJwsSignature(`${header}.${b64({ sub: 'admin' })}.${signature}`, key, alg))).toBe('signature_invalid')
    expect(reasonOf(() => verifyJwsSignature(tokenOf(get(alg), { sub: 'x' }).replace(/^[^.]+/, b64({ alg, kid: 'k2' })), key, alg))).toBe('signature_invalid')
    const flipped = signatureOf(token)
    flipped.writeUInt8(flipped.readUInt8(flipped.length >> 1) ^ 0x01, flipped.length >> 1)
    expect(reasonOf(() => verifyJwsSignature(withSignature(token, flipped.toString('base64url')), key, alg))).toBe('signature_invalid')
    expect(reasonOf(() => verifyJwsSignature(withSignature(token, ''), key, alg))).toBe('signature_invalid')
    // A token signed by another key of the same type.
    expect(reasonOf(() => verifyJwsSignature(tokenOf(signer(alg)), key, alg))).toBe('signature_invalid')
  })

  it('never takes the algorithm from the token: the caller names it, and unknown or symmetric ones are refused', async () => {
    const es = get('ES256')
    const key = await imported(es)
    for (const alg of ['none', 'HS256', 'es256', 'ES256K', '']) {
      expect(reasonOf(() => verifyJwsSignature(tokenOf(es), key, alg))).toBe('alg_not_allowed')
    }
    // A token claiming RS256 in its header is still checked as ES256 when that is what the trust entry allows.
    expect(reasonOf(() => verifyJwsSignature(tokenOf(es, { sub: 'x' }, 'ES256').replace(/^[^.]+/, b64({ alg: 'RS256', kid: 'k1' })), key, 'ES256'))).toBe('signature_invalid')
  })

  it('refuses key-type confusion: another key type, another curve, a short RSA key, a secret, a private key', async () => {
    const es256 = tokenOf(get('ES256'))
    expect(reasonOf(() => verifyJwsSignature(es256, createPublicKey(get('RS256').privateKey), 'ES256'))).toBe('alg_not_allowed')
    expect(reasonOf(() => verifyJwsSignature(es256, createPublicKey(get('ES384').privateKey), 'ES256'))).toBe('alg_not_allowed')
    expect(reasonOf(() => verifyJwsSignature(es256, createPublicKey(get('EdDSA').privateKey), 'ES256'))).toBe('alg_not_allowed')
    expect(reasonOf(() => verifyJwsSignature(tokenOf(get('EdDSA')), createPublicKey(get('ES256').privateKey), 'EdDSA'))).toBe('alg_not_allowed')
    expect(reasonOf(() => verifyJwsSignature(tokenOf(get('RS256')), createPublicKey(get('ES256').privateKey), 'RS256'))).toBe('alg_not_allowed')
    // HMAC/public-key confusion: a secret (what jose returns for oct keys) never verifies anything.
    expect(reasonOf(() => verifyJwsSignature(es256, new Uint8Array(32), 'ES256'))).toBe('alg_not_allowed')
    expect(reasonOf(() => verifyJwsSignature(es256, get('ES256').privateKey, 'ES256'))).toBe('alg_not_allowed')
    const short = signer('RS256')
    const weak = { ...short, privateKey: generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey }
    expect(reasonOf(() => verifyJwsSignature(tokenOf(weak), createPublicKey(weak.privateKey), 'RS256'))).toBe('alg_not_allowed')
    // A WebCrypto key not meant for verifying.
    const encryptOnly = await webcrypto.subtle.importKey('jwk', get('RS256').publicJwk as webcrypto.JsonWebKey, { name: 'RSA-OAEP', hash: 'SHA-256' }, true, ['encrypt'])
    expect(reasonOf(() => verifyJwsSignature(tokenOf(get('RS256')), encryptOnly as Key, 'RS256'))).toBe('alg_not_allowed')
  })

  it('does not let an RS256 signature pass as PS256 on the same key, or the reverse', async () => {
    const rsa = get('RS256')
    const ps = { ...rsa, alg: 'PS256' }
    expect(reasonOf(() => verifyJwsSignature(tokenOf(rsa, { sub: 'x' }, 'PS256'), createPublicKey(rsa.privateKey), 'RS256'))).toBe('signature_invalid')
    expect(reasonOf(() => verifyJwsSignature(tokenOf(ps, { sub: 'x' }, 'RS256'), createPublicKey(rsa.privateKey), 'PS256'))).toBe('signature_invalid')
  })

  it('refuses malformed base64url and non-compact input', async () => {
    const es = get('ES256')
    const key = await imported(es)
    const token = tokenOf(es)
    const sig = token.slice(token.lastIndexOf('.') + 1)
    expect(reasonOf(() => verifyJwsSignature(withSignature(token, `${sig}AAA`), key, 'ES256'))).toBe('token_malformed') // 86 + 3 = 4n+1 chars
    expect(reasonOf(() => verifyJwsSignature(withSignature(token, `${sig.slice(0, -1)}+`), key, 'ES256'))).toBe('token_malformed')
    expect(reasonOf(() => verifyJwsSignature(withSignature(token, `${sig}==`), key, 'ES256'))).toBe('token_malformed')
    // 64 bytes encode to 86 chars with 4 spare bits: setting them gives the same bytes, spelled differently.
    const last = sig.at(-1) as string
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'
    const sibling = alphabet[alphabet.indexOf(last) ^ 0x01] as string
    expect(reasonOf(() => verifyJwsSignature(withSignature(token, `${sig.slice(0, -1)}${sibling}`), key, 'ES256'))).toBe('token_malformed')
    expect(reasonOf(() => verifyJwsSignature(token.replaceAll('.', ''), key, 'ES256'))).toBe('token_malformed')
    expect(reasonOf(() => verifyJwsSignature(`${token}.x`, key, 'ES256'))).toBe('token_malformed')
    expect(reasonOf(() => verifyJwsSignature(`.${token.split('.')[1]}.${sig}`, key, 'ES256'))).toBe('token_malformed')
  })

  it('accepts exactly one spelling of a signature: the spare bits of its last character must be zero', async () => {
    const es = get('ES256')
    const key = await imported(es)
    const token = tokenOf(es)
    const sig = token.slice(token.lastIndexOf('.') + 1)
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'
    for (const [index, char] of Array.from(alphabet).entries()) {
      // 86 characters (64 bytes) leave 4 spare bits; an equal-bytes spelling verifies, others fail as signatures.
      const last86 = `${sig.slice(0, -1)}${char}`
      const sameBytes = Buffer.from(last86, 'base64url').equals(Buffer.from(sig, 'base64url'))
      const expected86 = (index & 0x0f) !== 0 ? 'token_malformed' : sameBytes ? 'verified' : 'signature_invalid'
      expect(reasonOf(() => verifyJwsSignature(withSignature(token, last86), key, 'ES256')), `86th "${char}"`).toBe(expected86)
      // 87 characters (65 bytes, the wrong size) leave 2 spare bits: canonical ones reach the size check.
      const expected87 = (index & 0x03) !== 0 ? 'token_malformed' : 'signature_invalid'
      expect(reasonOf(() => verifyJwsSignature(withSignature(token, `${sig}${char}`), key, 'ES256')), `87th "${char}"`).toBe(expected87)
    }
  })

  it('checks ECDSA signatures in their fixed JWS form only (no DER, no wrong sizes, no zero or out-of-range r/s)', async () => {
    const es = get('ES256')
    const key = await imported(es)
    const token = tokenOf(es)
    const input = token.slice(0, token.lastIndexOf('.'))
    const der = sign('sha256', Buffer.from(input), es.privateKey).toString('base64url')
    expect(reasonOf(() => verifyJwsSignature(withSignature(token, der), key, 'ES256'))).toBe('signature_invalid')
    const raw = signatureOf(token)
    expect(reasonOf(() => verifyJwsSignature(withSignature(token, raw.subarray(0, 63).toString('base64url')), key, 'ES256'))).toBe('signature_invalid')
    expect(reasonOf(() => verifyJwsSignature(withSignature(token, Buffer.concat([raw, Buffer.of(0)]).toString('base64url')), key, 'ES256'))).toBe('signature_invalid')
    expect(reasonOf(() => verifyJwsSignature(withSignature(token, Buffer.alloc(64).toString('base64url')), key, 'ES256'))).toBe('signature_invalid')
    const order = Buffer.from('ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551', 'hex')
    const rEqualsN = Buffer.concat([order, raw.subarray(32)])
    expect(reasonOf(() => verifyJwsSignature(withSignature(token, rEqualsN.toString('base64url')), key, 'ES256'))).toBe('signature_invalid')
  })

  it('remembers a verified token only for the same key and algorithm, and never a failed one', async () => {
    const rsa = get('RS256')
    const token = tokenOf(rsa)
    const key = createPublicKey(rsa.privateKey)
    expect(reasonOf(() => verifyJwsSignature(token, key, 'RS256'))).toBe('verified')
    expect(reasonOf(() => verifyJwsSignature(token, key, 'RS256'))).toBe('verified')
    // Same token, same key material, another algorithm or another key: checked afresh, and refused.
    expect(reasonOf(() => verifyJwsSignature(token, key, 'PS256'))).toBe('signature_invalid')
    expect(reasonOf(() => verifyJwsSignature(token, createPublicKey(signer('RS256').privateKey), 'RS256'))).toBe('signature_invalid')
    const forged = `${token.slice(0, -2)}${token.endsWith('AA') ? 'BA' : 'AA'}`
    expect(reasonOf(() => verifyJwsSignature(forged, key, 'RS256'))).toBe('signature_invalid')
    expect(reasonOf(() => verifyJwsSignature(forged, key, 'RS256'))).toBe('signature_invalid')
    // A token ending like the remembered one (the memo is keyed by the end) but signing other bytes is checked, and refused.
    const sameEnd = `${token.slice(0, 10)}${token[10] === 'A' ? 'B' : 'A'}${token.slice(11)}`
    expect(reasonOf(() => verifyJwsSignature(sameEnd, key, 'RS256'))).toBe('signature_invalid')
    // Many other verified tokens later, the first one still verifies (checked again once forgotten).
    for (let i = 0; i < 600; i++) expect(reasonOf(() => verifyJwsSignature(tokenOf(rsa, { i }), key, 'RS256'))).toBe('verified')
    expect(reasonOf(() => verifyJwsSignature(token, key, 'RS256'))).toBe('verified')
  })

  it('agrees with the previous WebCrypto path on high-S (malleated) ECDSA signatures and on tampered ones', async () => {
    const es = get('ES256')
    const key = await imported(es)
    const n = BigInt('0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551')
    for (let i = 0; i < 8; i++) {
      const token = tokenOf(es, { sub: 'x', i })
      const raw = signatureOf(token)
      const s = BigInt(`0x${raw.subarray(32).toString('hex')}`)
      const highS = Buffer.concat([raw.subarray(0, 32), Buffer.from((n - s).toString(16).padStart(64, '0'), 'hex')])
      const tampered = Buffer.from(raw)
      tampered.writeUInt8(tampered.readUInt8(i) ^ 0x80, i)
      for (const candidate of [token, withSignature(token, highS.toString('base64url')), withSignature(token, tampered.toString('base64url'))]) {
        const sync = reasonOf(() => verifyJwsSignature(candidate, key, 'ES256')) === 'verified'
        expect(sync).toBe(await joseSays(candidate, key, 'ES256'))
      }
    }
  })
})
