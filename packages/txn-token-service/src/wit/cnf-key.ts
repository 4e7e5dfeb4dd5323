/**
 * The workload public key a WIT binds (`cnf.jwk`): an asymmetric signing key of an algorithm the
 * proof side supports, with no private member, whose `kty`/`crv` agree with its REQUIRED `alg`.
 */
import { createPublicKey, type KeyObject } from 'node:crypto'
import { refuse } from '../errors.js'
import { ownMember } from '../plain-data.js'

/** The proof algorithms and the key shape each needs. */
const SHAPES: Readonly<Record<string, { kty: string; crv: string; members: readonly string[] }>> = Object.freeze({
  ES256: { kty: 'EC', crv: 'P-256', members: ['x', 'y'] },
  EdDSA: { kty: 'OKP', crv: 'Ed25519', members: ['x'] },
})

/** Members that only a private or symmetric key has. */
const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k']

/** A checked workload key. */
export interface CnfKey {
  /** The public JWK as the WIT carries it: only the members that define the key, plus `alg`. */
  readonly jwk: Readonly<Record<string, string>>
  readonly alg: 'ES256' | 'EdDSA'
  readonly key: KeyObject
}

/**
 * Checks the JWK a proof carries.
 * @throws TokenExchangeError `invalid_request` (`cnf_key_*`) for anything but a public ES256/EdDSA key
 */
export function checkCnfKey(value: unknown): CnfKey {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw refuse.request('cnf_key_missing', 'the proof carries no public jwk')
  const jwk = value as Record<string, unknown>
  if (PRIVATE_MEMBERS.some((m) => Object.hasOwn(jwk, m))) throw refuse.request('cnf_key_private', 'the jwk must not contain private or symmetric key material')
  const alg = ownMember(jwk, 'alg')
  if (typeof alg !== 'string') throw refuse.request('cnf_key_alg_missing', 'the jwk must name its alg')
  const shape = Object.hasOwn(SHAPES, alg) ? SHAPES[alg] : undefined
  if (shape === undefined) throw refuse.request('cnf_key_alg_unsupported', 'the jwk alg must be ES256 or EdDSA')
  if (ownMember(jwk, 'kty') !== shape.kty || ownMember(jwk, 'crv') !== shape.crv) throw refuse.request('cnf_key_mismatch', 'the jwk kty/crv do not match its alg')
  const clean: Record<string, string> = { kty: shape.kty, crv: shape.crv }
  for (const member of shape.members) {
    const part = ownMember(jwk, member)
    if (typeof part !== 'string' || !/^[A-Za-z0-9_-]{1,200}$/.test(part)) throw refuse.request('cnf_key_invalid', 'the jwk is not a valid public key')
    clean[member] = part
  }
  let key: KeyObject
  try {
    key = createPublicKey({ key: clean, format: 'jwk' })
  } catch (err) {
    throw refuse.request('cnf_key_invalid', 'the jwk is not a valid public key', err)
  }
  return { jwk: Object.freeze({ ...clean, alg }), alg: alg as CnfKey['alg'], key }
}
