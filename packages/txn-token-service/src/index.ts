/**
 * `@meshguard/txn-token-service`: a Transaction Token Service (draft-ietf-oauth-transaction-tokens-10)
 * over RFC 8693 token exchange. Requesting workloads authenticate with `private_key_jwt` signed by
 * their workload key; meshguard's own engine decides who gets which token; every issuance and
 * refusal is audited. Run it standalone (`createTxnTokenService`, `meshguard tts`) or mounted as a
 * grant on an oidc-provider authorization server (`mountTxnTokenGrant`). With the `wit` option the same
 * deployable also issues WIMSE Workload Identity Tokens (`POST /wit`) with its own signing keys.
 *
 * @packageDocumentation
 */
export {
  TXN_TOKEN_TYP,
  TOKEN_EXCHANGE_GRANT_TYPE,
  JWT_BEARER_ASSERTION_TYPE,
  TOKEN_TYPES,
  TXN_TOKEN_HEADER,
  TXN_TOKEN_SERVICE_PATHS,
  TXN_TOKEN_RESOURCE_KIND,
  TXN_TOKEN_ACTIONS,
} from './token-format.js'
export type {
  SubjectTokenKind,
  TxnTokenUser,
  TxnTokenContext,
  TxnTokenClaims,
  TxnTokenResponse,
  OAuthErrorCode,
  OAuthErrorBody,
} from './token-format.js'
export type {
  TxnTokenAlgorithm,
  TxnTokenSigningKeyInput,
  SubjectIssuerKeys,
  SubjectUserClaims,
  SubjectIssuerOptions,
  SubjectInfo,
  UserLookup,
  RevocationCheck,
  TxnTokenServiceLimits,
  TxnTokenServiceOptions,
} from './options.js'
export type { ClientAuthentication, TxnTokenService } from './service-api.js'
export { createTxnTokenService } from './service.js'
export { TokenExchangeError, OAUTH_ERROR_STATUS } from './errors.js'
export { redisSharedState } from './state/shared-state.js'
export type { TxnTokenSharedState, RedisSharedStateOptions, ReplayStore } from './state/shared-state.js'
export { createMemoryCounterStore, redisCounterStore } from './state/counter-store.js'
export type { CounterStore, RedisCounterStoreOptions } from './state/counter-store.js'
export { mountTxnTokenGrant } from './oidc-provider-grant.js'
export type { GrantTypeRegistry, GrantContext } from './oidc-provider-grant.js'
export { loadTxnTokenServiceConfig, readSigningKeys, readWitSigningKeys } from './config-file.js'
export type { TxnTokenServiceConfigFile, LoadedTxnTokenServiceConfig, WitIssuerConfigFile } from './config-file.js'
export { WIT_TYP, WIT_CLAIM, WIT_RESOURCE_KIND, WIT_ISSUE_ACTION } from './wit/wit-format.js'
export type { WitClaims, WitGrant } from './wit/wit-format.js'
export type { WitIssuerOptions, KubernetesAttestationOptions, RegisteredWorkloadKey, SpiffeBundleOptions } from './wit/wit-options.js'
export type { WitIssuer } from './wit/wit-issuer.js'
