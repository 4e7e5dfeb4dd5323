/** The contract between the outbound side and where Workload Identity Tokens (WIMSE WITs) come from. */
import type { KeyObject } from 'node:crypto'

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
