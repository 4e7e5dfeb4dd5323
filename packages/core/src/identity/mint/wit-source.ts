/** The contract between the outbound side and where Workload Identity Tokens (WIMSE WITs) come from. */
import { KeyObject } from 'node:crypto'
import { ConfigError, MintError } from '../../errors.js'
import { JWS_ALGORITHMS_BY_NAME } from '../jws-algorithms.js'
import { parseWorkloadIdentifier } from '../wimse-wire.js'
import { unverifiedPayload } from './token-payload.js'

/**
 * A WIT and the private key its `cnf.jwk` names: what a workload needs to sign Workload Proof
 * Tokens. The key is bound to this WIT alone and is never used after `expiresAt`.
 */
export interface WorkloadCredential {
  /** The WIT, a compact JWS (`typ: wit+jwt`). */
  readonly wit: string
  /** The WIT's `sub`: this workload's identifier (a SPIFFE ID). */
  readonly sub: string
  /** The WIT's `exp`, epoch seconds. */
  readonly expiresAt: number
  /** The private key of the WIT's `cnf.jwk`. */
  readonly privateKey: KeyObject
  /** The proof algorithm: the WIT's `cnf.jwk.alg`. */
  readonly alg: string
}

/**
 * Where a workload's current WIT comes from (an identity server, a file rotated by a sidecar, the
 * SPIFFE Workload API). `current()` answers only unexpired credentials and throws a typed error
 * when it holds none.
 */
export interface WitSource {
  /** The credential to sign with now. */
  current(): WorkloadCredential | Promise<WorkloadCredential>
  /** Stops background renewal. */
  close?(): void | Promise<void>
}

/** WITs larger than this are refused by the source (receivers cap them too). */
export const MAX_WIT_BYTES = 8192

/**
 * Checks a credential's parts against each other: a readable WIT whose `sub`, `exp` and
 * `cnf.jwk.alg` are the ones given, and a private key of the type the algorithm needs.
 *
 * @throws MintError `wit_unavailable` naming what does not fit
 */
export function checkCredential(credential: WorkloadCredential): WorkloadCredential {
  const unusable = (why: string): MintError => new MintError('wit_unavailable', `the workload credential is unusable: ${why}`)
  if (typeof credential !== 'object' || (credential as unknown) === null) throw unusable('not an object')
  const { wit, sub, expiresAt, privateKey, alg } = credential
  const payload = typeof wit === 'string' ? unverifiedPayload(wit, MAX_WIT_BYTES) : undefined
  if (payload === undefined) throw unusable('the WIT is not a compact JWS')
  if (payload['sub'] !== sub) throw unusable('"sub" is not the WIT\'s')
  try {
    parseWorkloadIdentifier(sub)
  } catch {
    throw unusable('"sub" is not a workload identifier')
  }
  if (payload['exp'] !== expiresAt || typeof expiresAt !== 'number') throw unusable('"expiresAt" is not the WIT\'s "exp"')
  const cnf = payload['cnf'] as { jwk?: { alg?: unknown } } | undefined
  if (typeof cnf !== 'object' || (cnf as unknown) === null || cnf.jwk?.alg !== alg) throw unusable('"alg" is not the WIT\'s "cnf.jwk.alg"')
  const spec = JWS_ALGORITHMS_BY_NAME.get(alg)
  if (!(privateKey instanceof KeyObject) || privateKey.type !== 'private' || spec === undefined) throw unusable('no private key for a known algorithm')
  const type = privateKey.asymmetricKeyType
  if (type === undefined || !spec.keyTypes.includes(type) || (spec.namedCurve !== undefined && privateKey.asymmetricKeyDetails?.namedCurve !== spec.namedCurve)) {
    throw unusable('the private key does not fit "alg"')
  }
  return credential
}

/**
 * A source that always answers with one credential (tests, a credential fetched once by the app).
 * It refuses to hand it out once expired.
 *
 * @throws ConfigError when the credential's parts do not fit together
 */
export function staticWitSource(credential: WorkloadCredential, clock: () => number = Date.now): WitSource {
  try {
    checkCredential(credential)
  } catch (err) {
    throw new ConfigError('identity.source', err instanceof Error ? err.message : 'unusable credential', { cause: err })
  }
  const frozen = Object.freeze({ ...credential })
  return {
    current() {
      if (frozen.expiresAt * 1000 <= clock()) throw new MintError('wit_expired', 'the workload credential has expired')
      return frozen
    },
  }
}
