/**
 * A narrower Txn-Token for some downstream calls: the hop asks the Txn-Token Service for a
 * replacement of the Txn-Token it is serving (same `txn`, `sub`, `aud`; a scope no wider), and the
 * calls made inside carry the replacement instead.
 */
import { callerContext, MintError } from '@meshguard/core'
import { txnTokenOf, type TxnTokenExchange } from '@meshguard/core/txn-tokens'

/**
 * Runs `fn` with its outbound calls carrying a replacement Txn-Token for `scope`. The Txn-Token
 * replaced is the one the current call chain carries (the request being served, or an enclosing
 * `withTxnScope` / `callerContext.runWithTxnToken`).
 *
 * @example
 * ```ts
 * // Only "review.read" travels on to the review service, whatever the inbound token allowed.
 * const res = await withTxnScope(txnTokens, 'review.read', () => fetch('http://reviews.internal/reviews/7'))
 * ```
 * @throws MintError `txn_token_invalid` when no Txn-Token is being carried; the exchange's
 *   DeniedError `txn_token_denied` when the TTS refuses (e.g. a wider scope), UnavailableError when it is down
 */
export async function withTxnScope<T>(
  txnTokens: Pick<TxnTokenExchange, 'replace'>,
  scope: string | readonly string[],
  fn: () => Promise<T>,
  requestDetails?: Readonly<Record<string, unknown>>,
): Promise<T> {
  const acting = callerContext.outbound()
  const current = acting.txnToken ?? (acting.caller === undefined ? undefined : txnTokenOf(acting.caller))
  if (current === undefined) throw new MintError('txn_token_invalid', 'no Txn-Token is being carried: nothing to replace')
  const replacement = await txnTokens.replace(current, scope, requestDetails)
  return callerContext.runWithTxnToken(replacement.token, fn)
}
