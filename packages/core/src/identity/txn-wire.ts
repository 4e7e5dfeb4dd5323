/** The Transaction Token wire names (draft-ietf-oauth-transaction-tokens-10), shared by every side of identity. */

/** The `typ` of a Txn-Token (draft §9.1). */
export const TXN_TOKEN_TYP = 'txntoken+jwt'
/** The request header a Txn-Token travels in (draft §12.1). */
export const TXN_TOKEN_HEADER = 'txn-token'
/** The RFC 8693 token type of a Txn-Token (draft §16.1). */
export const TXN_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:txn_token'
/** The workload-token claim binding it to the Txn-Token it travels with: base64url(SHA-256(Txn-Token)), the WIMSE WPT name. */
export const TXN_TOKEN_HASH_CLAIM = 'tth'
