/**
 * The proof of possession of a WIT request: a JWT signed by the workload's new private key,
 * carrying the public key (`jwk` header), `aud` = the issuer, a fresh `jti`, `iat` within a short
 * window, and `ath` = base64url(SHA-256(attestation)). It binds the attestation to the key: a
 * proof cannot be replayed, and an attestation cannot be paired with a key whose holder did not
 * sign for it.
 */
import { createHash } from 'node:crypto'
import { WIT_PROOF_TYP } from '@meshguard/core/wimse'
import { decodeProtectedHeader, errors as joseErrors, jwtVerify } from 'jose'
import { refuse } from '../errors.js'
import { ExpiringCounter } from '../expiring-set.js'
import { checkCompactToken } from '../request.js'
import { checkCnfKey, type CnfKey } from './cnf-key.js'

/** Proofs whose `jti` is remembered at once; more fail closed until older ones age out. */
const REPLAY_CAPACITY = 100_000

/** Settings of the proof check. */
export interface ProofSettings {
  /** The issuer URL: the only `aud` a proof may carry. */
  readonly issuer: string
  /** How old a proof may be, seconds. */
  readonly maxAge: number
  readonly clockTolerance: number
  readonly maxTokenBytes: number
  readonly clock: () => number
}

/** Verifies proofs and remembers their `jti`s. */
export class ProofVerifier {
  private readonly seen = new ExpiringCounter(REPLAY_CAPACITY)

  constructor(private readonly settings: ProofSettings) {}

  /**
   * The workload key the proof proves possession of, for this attestation.
   * @throws TokenExchangeError `invalid_request` (`proof_*`, `cnf_key_*`); `temporarily_unavailable` when the replay set is full
   */
  async verify(proof: unknown, attestation: string): Promise<CnfKey> {
    const { settings } = this
    const token = checkCompactToken(typeof proof === 'string' ? proof : undefined, 'proof', settings.maxTokenBytes)
    let header: Record<string, unknown>
    try {
      header = decodeProtectedHeader(token) as Record<string, unknown>
    } catch (err) {
      throw refuse.request('proof_malformed', 'proof is not a JWT', err)
    }
    if (header['typ'] !== WIT_PROOF_TYP) throw refuse.request('proof_typ', `proof typ must be ${WIT_PROOF_TYP}`)
    const cnf = checkCnfKey(Object.hasOwn(header, 'jwk') ? header['jwk'] : undefined)
    if (header['alg'] !== cnf.alg) throw refuse.request('proof_alg_mismatch', 'proof alg differs from its jwk alg')
    const now = settings.clock()
    let claims: Record<string, unknown>
    try {
      const verified = await jwtVerify(token, cnf.key, {
        algorithms: [cnf.alg],
        typ: WIT_PROOF_TYP,
        audience: settings.issuer,
        maxTokenAge: settings.maxAge,
        clockTolerance: settings.clockTolerance,
        requiredClaims: ['iat', 'jti'],
        currentDate: new Date(now),
      })
      claims = verified.payload as Record<string, unknown>
    } catch (err) {
      if (err instanceof joseErrors.JWSSignatureVerificationFailed) throw refuse.request('proof_signature', 'proof is not signed by its jwk', err)
      if (err instanceof joseErrors.JWTClaimValidationFailed && err.claim === 'aud') throw refuse.request('proof_audience', 'proof aud is not this issuer', err)
      if (err instanceof joseErrors.JWTExpired || (err instanceof joseErrors.JWTClaimValidationFailed && err.claim === 'iat')) {
        throw refuse.request('proof_stale', 'proof iat is outside the accepted window', err)
      }
      throw refuse.request('proof_invalid', 'proof is not valid', err)
    }
    const iat = claims['iat'] as number
    if (iat * 1000 > now + settings.clockTolerance * 1000) throw refuse.request('proof_stale', 'proof iat is in the future')
    const ath = claims['ath']
    if (typeof ath !== 'string' || ath !== createHash('sha256').update(attestation).digest('base64url')) {
      throw refuse.request('proof_attestation_mismatch', 'proof ath does not match the attestation')
    }
    const jti = claims['jti']
    if (typeof jti !== 'string' || jti.length < 16 || jti.length > 256) throw refuse.request('proof_jti', 'proof needs a jti of at least 16 characters')
    const until = (iat + settings.maxAge + settings.clockTolerance) * 1000
    const count = this.seen.increment(jti, until, now)
    if (count === undefined) throw refuse.unavailable('replay_cache_full', 'too many proofs in flight')
    if (count > 1) throw refuse.request('proof_replayed', 'proof was already used')
    return cnf
  }
}
