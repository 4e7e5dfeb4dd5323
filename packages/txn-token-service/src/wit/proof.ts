/**
 * The proof of possession of a WIT request: a JWT signed by the workload's new private key,
 * carrying the public key (`jwk` header), `aud` = the issuer, a fresh `jti`, `iat` within a short
 * window, and `ath` = base64url(SHA-256(attestation)). It binds the attestation to the key: a
 * proof cannot be replayed, and an attestation cannot be paired with a key whose holder did not
 * sign for it. Checked with node:crypto on the event loop: every proof is new, so nothing is cached.
 */
import { createHash } from 'node:crypto'
import { WIT_PROOF_TYP } from '@meshguard/core/wimse'
import { refuse } from '../errors.js'
import { ownMember } from '../plain-data.js'
import { checkCompactToken } from '../request.js'
import { verifyBytes } from '../signing-keys.js'
import type { ServiceState } from '../state/shared-state.js'
import { checkCnfKey, type CnfKey } from './cnf-key.js'

/** Settings of the proof check. */
export interface ProofSettings {
  /** The issuer URL: the only `aud` a proof may carry. */
  readonly issuer: string
  /** How old a proof may be, seconds. */
  readonly maxAge: number
  readonly clockTolerance: number
  readonly maxTokenBytes: number
  readonly clock: () => number
  /** Where used proof `jti`s are recorded. */
  readonly state: ServiceState
}

/** A JSON object from a base64url part, or undefined. */
function jsonObject(part: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(Buffer.from(part, 'base64url').toString('utf8'))
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined
  } catch {
    return undefined
  }
}

/** Verifies proofs and remembers their `jti`s. */
export class ProofVerifier {
  constructor(private readonly settings: ProofSettings) {}

  /**
   * The workload key the proof proves possession of, for this attestation.
   * @throws TokenExchangeError `invalid_request` (`proof_*`, `cnf_key_*`); `temporarily_unavailable` when used ids cannot be recorded
   */
  async verify(proof: unknown, attestation: string): Promise<CnfKey> {
    const { settings } = this
    const token = checkCompactToken(typeof proof === 'string' ? proof : undefined, 'proof', settings.maxTokenBytes)
    const [headerPart = '', payloadPart = '', signaturePart = ''] = token.split('.')
    const header = jsonObject(headerPart)
    const claims = jsonObject(payloadPart)
    if (header === undefined || claims === undefined) throw refuse.request('proof_malformed', 'proof is not a JWT')
    if (ownMember(header, 'typ') !== WIT_PROOF_TYP) throw refuse.request('proof_typ', `proof typ must be ${WIT_PROOF_TYP}`)
    if (ownMember(header, 'crit') !== undefined) throw refuse.request('proof_invalid', 'proof has crit parameters')
    const cnf = checkCnfKey(ownMember(header, 'jwk'))
    if (ownMember(header, 'alg') !== cnf.alg) throw refuse.request('proof_alg_mismatch', 'proof alg differs from its jwk alg')
    let signed: boolean
    try {
      signed = verifyBytes(cnf.alg, cnf.key, Buffer.from(`${headerPart}.${payloadPart}`), Buffer.from(signaturePart, 'base64url'))
    } catch {
      // node:crypto throws on some malformed signatures instead of answering false.
      signed = false
    }
    if (!signed) throw refuse.request('proof_signature', 'proof is not signed by its jwk')

    if (ownMember(claims, 'aud') !== settings.issuer) throw refuse.request('proof_audience', 'proof aud is not this issuer')
    const iat = ownMember(claims, 'iat')
    const now = settings.clock() / 1000
    if (typeof iat !== 'number' || !Number.isFinite(iat)) throw refuse.request('proof_invalid', 'proof needs a numeric iat')
    if (iat > now + settings.clockTolerance || iat < now - settings.maxAge - settings.clockTolerance) {
      throw refuse.request('proof_stale', 'proof iat is outside the accepted window')
    }
    const exp = ownMember(claims, 'exp')
    if (exp !== undefined && (typeof exp !== 'number' || exp <= now - settings.clockTolerance)) throw refuse.request('proof_stale', 'proof has expired')
    const ath = ownMember(claims, 'ath')
    if (typeof ath !== 'string' || ath !== createHash('sha256').update(attestation).digest('base64url')) {
      throw refuse.request('proof_attestation_mismatch', 'proof ath does not match the attestation')
    }
    const jti = ownMember(claims, 'jti')
    if (typeof jti !== 'string' || jti.length < 16 || jti.length > 256) throw refuse.request('proof_jti', 'proof needs a jti of at least 16 characters')
    // Kept as long as a proof of this iat could still be accepted.
    const first = await settings.state.firstUse('wit_proof', [jti], (iat + settings.maxAge + settings.clockTolerance) * 1000, settings.clock())
    if (!first) throw refuse.request('proof_replayed', 'proof was already used')
    return cnf
  }
}
