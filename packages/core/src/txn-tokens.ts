/**
 * `@meshguard/core/txn-tokens`: OAuth Transaction Tokens (draft-ietf-oauth-transaction-tokens-10).
 * Receiving them needs only `trust.txnTokens` on the identity verifier (main entry); this subpath
 * holds the rest: the edge's Txn-Token Service client (the guard's `edge.txnTokens`), the raw Txn-Token
 * of a verified caller for forwarding, route-scope errors, header and claim names.
 *
 * @packageDocumentation
 */
export {
  createTxnTokenExchange,
  txnTokenOf,
  kTxnToken,
  TXN_TOKEN_TYP,
  TXN_TOKEN_HEADER,
  TXN_TOKEN_TYPE,
  TXN_TOKEN_HASH_CLAIM,
  TXN_TOKEN_DENIED_REASONS,
} from './identity/index.js'
export type {
  TxnTokenServiceTrust,
  VerifiedTxn,
  TxnTokenExchange,
  TxnTokenExchangeOptions,
  TxnTokenRequest,
  IssuedTxnToken,
  TxnSubjectTokenType,
  EdgeCaller,
} from './identity/index.js'
export { InsufficientScopeError, scopesOf } from './pipeline/index.js'
// The checks the Txn-Token Service shares with the identity verifier for tokens of other issuers
// (subject tokens): one compact-JWS gate, one synchronous signature check, one set of time rules.
export { parseCompactToken } from './identity/verify/compact.js'
export type { UnverifiedToken } from './identity/verify/compact.js'
export { verifyJwsSignature } from './identity/verify/jws-sync-verify.js'
export { checkTimes } from './identity/verify/claims.js'
export type { TimeRules } from './identity/verify/claims.js'
export type { EdgeOptions } from './pipeline/index.js'
