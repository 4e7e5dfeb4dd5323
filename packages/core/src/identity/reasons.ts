/**
 * Every reason code the identity layer rejects with, and what it means. Adapters put the code in
 * problem bodies; docs and dashboards can list them from here. A test keeps this table and the
 * codes thrown in the source in step.
 */

/** Reasons of `IdentityMissingError` (401): credentials absent. */
export const IDENTITY_MISSING_REASONS = Object.freeze({
  token_missing: 'no workload token in `authorization: Bearer`',
  actor_required: 'the route acts for a user or agent, and no actor token was sent',
} as const)

/** Reasons of `IdentityError` (401): credentials present but rejected. */
export const IDENTITY_INVALID_REASONS = Object.freeze({
  duplicate_header: 'an identity header was sent more than once (or comma-joined)',
  auth_scheme_invalid: '`authorization` is not `Bearer <token>`',
  token_too_large: 'a token exceeds `maxTokenBytes`',
  token_malformed: 'not a compact JWS with JSON-object header and payload',
  alg_not_allowed: '`alg` is not an allowed asymmetric algorithm for the issuer and key (covers `none`, HS*)',
  crit_unsupported: 'the header has `crit` parameters',
  typ_mismatch: '`typ` is not accepted for this token slot',
  kid_missing: 'the header has no usable `kid`',
  unknown_issuer: '`iss` is not a trusted issuer for this token slot',
  unknown_key: 'no trusted key of the issuer has this `kid`',
  signature_invalid: 'the signature does not verify with the trusted key',
  claim_missing: 'a required claim (`exp`, `aud`, `iat`, `sub`; `jti` with one-time use) is absent',
  claim_invalid: 'a claim has the wrong type (e.g. a string `exp`)',
  token_expired: '`exp` has passed (beyond the clock tolerance)',
  token_not_yet_valid: '`nbf` is in the future (beyond the clock tolerance)',
  iat_in_future: '`iat` is in the future (beyond the clock tolerance)',
  lifetime_too_long: '`exp - iat` (or `exp - now`) exceeds the maximum lifetime',
  token_too_old: 'the actor token was issued longer ago than `maxTokenAge`',
  aud_mismatch: 'the token was not minted for this service (or actor audience not accepted)',
  multi_audience: 'the workload token names several audiences (exact audience mode)',
  invalid_spiffe_id: '`sub` (or a configured identity) is not a valid SPIFFE ID',
  key_not_bound: 'the signing key may not sign for the identity the token claims',
  actor_binding_mismatch: 'the workload token is not bound (`ath`) to the actor token it travels with',
  actor_workload_mismatch: 'the actor token was issued to (`act.sub`) another workload',
  actor_forbidden: 'the route does not accept an actor token',
  act_too_deep: 'the `act` delegation chain exceeds `maxActDepth`',
  act_invalid: 'an `act` level is not an object with a valid `sub`',
  txn_invalid: 'the transaction id is malformed',
  txn_mismatch: 'the transaction id header differs from the token `txn`',
  claim_mapping_failed: 'the claim mapping threw or returned no roles/attributes',
  txn_token_conflict: 'an actor token and a Txn-Token were both sent',
  txn_token_malformed: 'the Txn-Token is not one compact JWS with JSON-object header and payload, or exceeds `maxTokenBytes`',
  txn_token_alg: 'the Txn-Token `alg` is not allowed for the Txn-Token Service (covers `none`, HS*, `crit`)',
  txn_token_typ: 'the Txn-Token `typ` is not `txntoken+jwt`',
  txn_token_untrusted: 'no Txn-Token Service is trusted here, its key set has no such `kid`, or `iss` is not the configured one',
  txn_token_signature: 'the Txn-Token signature does not verify with the Txn-Token Service key',
  txn_token_claims: 'a required Txn-Token claim (`txn`, `sub`, `scope`, `req_wl`, `aud`, `iat`, `exp`) is absent or of the wrong type',
  txn_token_aud: 'the Txn-Token was issued for another trust domain',
  txn_token_expired: 'the Txn-Token `exp` has passed (beyond the clock tolerance)',
  txn_token_iat: 'the Txn-Token `iat` (or `nbf`) is in the future (beyond the clock tolerance)',
  txn_token_lifetime: 'the Txn-Token `exp - iat` exceeds the Txn-Token Service `maxLifetime`',
  txn_token_invalid: 'the Txn-Token failed another check',
  txn_token_unbound: 'the workload token is not bound to this Txn-Token (`tth`, `txn`), or is bound to an access token',
  txn_token_missing: 'the workload token is bound (`tth`) to a Txn-Token that was not sent',
  dpop_required: 'the access token is bound to a key (`cnf.jkt`) and came without a DPoP proof or as `Bearer`, or the edge accepts DPoP-bound tokens only',
  dpop_proof_invalid: 'the DPoP proof is malformed or fails a check (`typ`, `alg`, `jwk`, signature, `jti`, `htm`, `htu`, `iat` window, `ath`)',
  dpop_proof_replayed: 'the DPoP proof (its `jti`) was already used',
  dpop_key_mismatch: 'the DPoP proof key is not the key the token is bound to, or a `DPoP` request carried an unbound token',
  dpop_nonce_required: 'server nonces are on and the DPoP proof carries no current nonce of this service (`use_dpop_nonce`)',
  cnf_unsupported: 'the token is bound (`cnf`) by a method other than DPoP `jkt`, which this service cannot check',
  token_inactive: 'introspection (RFC 7662) says the opaque access token is not active (unknown, expired or revoked at the authorization server)',
  token_revoked: 'the workload or actor token is revoked (by `jti`, `sid`, `sub` or issuer) on the revocation list or by the revocation check',
  token_replayed: 'one-time use (`replay`): this workload token (its `jti`) was already used at this service',
  wit_missing: 'an `Authorization: WPT` proof came without a `Workload-Identity-Token`',
  wit_invalid: 'the Workload Identity Token is malformed or fails a check (`typ` `wit+jwt`, `alg`, `crit`, `kid`, `iss`, signature by its trust domain\'s issuer, `nbf`, `cnf.jwk`)',
  wit_untrusted_domain: 'the WIT `sub` belongs to a trust domain with no configured workload issuer',
  wit_expired: 'the WIT `exp` has passed (beyond the clock skew)',
  wpt_required: 'this service accepts workload proof tokens only: a `Bearer` workload token (or a WIT without `Authorization: WPT`) is refused',
  wpt_invalid: 'the Workload Proof Token is malformed or fails a check (`typ` `wpt+jwt`, `alg` equal to the WIT `cnf.jwk.alg`, signature with the WIT key, `jti`, `exp` too far ahead)',
  wpt_expired: 'the WPT `exp` is absent or has passed (beyond the clock skew)',
  wpt_aud: 'the WPT `aud` is not this service\'s target URI (configured origin plus the request path) or a configured alias',
  wpt_unbound: 'the WPT does not bind this request\'s tokens: `wth` is not the WIT\'s hash, `tth` does not match (or is present without, or absent with, a Txn-Token), an `oth` entry is unknown or does not match, or an actor token came unbound',
  wpt_replay: 'this WPT (its `sub` and `jti`) was already used at this service',
} as const)

/** Reasons of `UnavailableError` (503) raised by identity. */
export const IDENTITY_UNAVAILABLE_REASONS = Object.freeze({
  jwks_unavailable: 'a trusted key set cannot be fetched and its stale-if-error window has passed',
  txn_token_service_unavailable: 'the Txn-Token Service cannot be reached, did not answer within `timeoutMs`, or answered without a Txn-Token',
  replay_store_unavailable: 'one-time use (`replay`): the store of used token ids failed, timed out or is full (with `onStoreError: reject`)',
  revocation_unavailable: 'the revocation list is past its `maxAgeMs` and cannot be fetched, or the revocation check failed',
  introspection_unavailable: 'the introspection endpoint cannot be reached, failed, or answered without a boolean `active`',
  discovery_unavailable: 'the OIDC discovery document of a trusted issuer cannot be fetched or is invalid (issuer mismatch, no usable `jwks_uri`) and its stale-if-error window has passed',
} as const)

/** Reasons of `DeniedError` (403) raised around Txn-Tokens. */
export const TXN_TOKEN_DENIED_REASONS = Object.freeze({
  txn_token_denied: 'the Txn-Token Service refused to issue (or replace) a Txn-Token for this purpose',
  insufficient_scope: 'the route requires a scope the Txn-Token (or the access token) does not hold',
} as const)

/** Reasons of `MintError` (outbound: nothing was sent). */
export const MINT_REASONS = Object.freeze({
  audience_invalid: 'no callee audience was given',
  actor_expired: 'the actor token of the request being served has expired',
  caller_context_unavailable: 'the caller context began carrying scopes after requests were served; this call has no scope and may belong to one of them',
  act_too_deep: 'the outbound `act` chain would exceed `maxActDepth`',
  txn_invalid: 'the transaction id is malformed',
  signing_failed: 'the workload token could not be signed',
  token_source_unavailable: 'the workload token file cannot be read',
  token_expired: 'the workload token file holds an expired token',
  audience_unavailable: 'the workload token file has no token for this callee',
  token_endpoint_unavailable: 'the OAuth token endpoint cannot be reached',
  token_endpoint_rejected: 'the OAuth token endpoint refused the request (OAuth error code in the message)',
  token_endpoint_invalid: 'the OAuth token endpoint answered without a usable bearer token',
  token_source_failed: 'a custom token source failed',
  txn_token_invalid: 'the Txn-Token to forward is not a compact JWS with `txn` and `exp`',
  txn_token_expired: 'the Txn-Token to forward has expired',
  txn_token_unbindable: 'the workload token source cannot bind a Txn-Token (`tth`); use a self-signed source',
  wit_attestation_unavailable: 'the bootstrap attestation for the WIT issuer could not be read or is empty',
  wit_issuer_unavailable: 'the WIT issuer cannot be reached or failed (5xx)',
  wit_issuer_refused: 'the WIT issuer refused the request (its error code in the message)',
  wit_response_invalid: 'the WIT issuer answered without a usable WIT bound to the workload key',
  wit_unavailable: 'no valid WIT is held and the issuer failed recently (backing off), or the source is closed',
  wit_expired: 'the workload identity source holds only an expired WIT',
  wit_subject_mismatch: 'the WIT to authenticate to the Txn-Token Service with names another workload than `clientId`',
  wpt_signing_failed: 'the workload proof token could not be signed with the WIT key',
  actor_unbindable: 'an actor (access) token cannot travel with a workload proof token; use a Txn-Token',
} as const)

/** A reason code of an identity rejection (401). */
export type IdentityReason = keyof typeof IDENTITY_MISSING_REASONS | keyof typeof IDENTITY_INVALID_REASONS
/** A reason code of a mint failure. */
export type MintReason = keyof typeof MINT_REASONS
