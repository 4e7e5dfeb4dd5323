/**
 * The binding of a Txn-Token to the per-hop workload token it travels with, shaped like the WIMSE
 * Workload Proof Token's `tth`: the workload token carries `tth` = base64url(SHA-256(Txn-Token as
 * sent)) and `txn` = the Txn-Token's `txn`. A Txn-Token cannot then be spliced onto another call (a
 * workload token minted for another transaction or another Txn-Token), nor stripped from its own.
 * The draft itself does not sender-constrain Txn-Tokens (its issue #175); this is meshguard's addition.
 */
import { IdentityError } from '../../errors.js'

import { TXN_TOKEN_HASH_CLAIM } from '../txn-wire.js'

/**
 * Before the Txn-Token is verified: the workload token is bound to exactly this Txn-Token (`tth`) and
 * to no access token (`ath`).
 *
 * @param workloadClaims - the verified workload token's claims
 * @param txnTokenDigest - base64url(SHA-256(the Txn-Token received))
 * @throws IdentityError `txn_token_unbound`
 */
export function checkTxnTokenHash(workloadClaims: Readonly<Record<string, unknown>>, txnTokenDigest: string): void {
  const tth = workloadClaims[TXN_TOKEN_HASH_CLAIM]
  if (tth === undefined) throw new IdentityError('txn_token_unbound', 'workload token is not bound to the Txn-Token (no "tth")', { tokenKind: 'actor' })
  if (tth !== txnTokenDigest) throw new IdentityError('txn_token_unbound', 'workload token is bound to another Txn-Token', { tokenKind: 'actor' })
  if (workloadClaims['ath'] !== undefined) throw new IdentityError('txn_token_unbound', 'workload token is bound to an access token, not a Txn-Token', { tokenKind: 'actor' })
}

/**
 * After the Txn-Token is verified: the workload token names the same transaction.
 *
 * @throws IdentityError `txn_token_unbound`
 */
export function checkTxnTokenTransaction(workloadTxn: string | undefined, txn: string): void {
  if (workloadTxn !== txn) throw new IdentityError('txn_token_unbound', 'workload token names another transaction than the Txn-Token', { tokenKind: 'actor' })
}

/**
 * A workload token bound to a Txn-Token that did not come with it: the context was stripped (or an
 * access token put in its place).
 *
 * @throws IdentityError `txn_token_missing`
 */
export function checkNoTxnTokenBinding(workloadClaims: Readonly<Record<string, unknown>>): void {
  if (workloadClaims[TXN_TOKEN_HASH_CLAIM] !== undefined) {
    throw new IdentityError('txn_token_missing', 'workload token is bound to a Txn-Token that was not sent', { tokenKind: 'actor' })
  }
}
