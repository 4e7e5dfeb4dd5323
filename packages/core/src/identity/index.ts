// Public API of the identity module: named exports only.
// The shared ground floor: the verified caller, the wire format, SPIFFE IDs, the JWS algorithm table, reason codes.
export { parseSpiffeId, isSpiffeId } from './spiffe.js'
export type { SpiffeId, IdentityPattern } from './spiffe.js'
export { WORKLOAD_TOKEN_TYP, ACCESS_TOKEN_TYP } from './wire.js'
export { ASYMMETRIC_ALGORITHMS, DEFAULT_ALGORITHMS } from './jws-algorithms.js'
export { DEFAULT_ACTOR_HEADER, DEFAULT_TRANSACTION_HEADER, SINGLE_VALUE_HEADERS, headerViewOf } from './headers.js'
export type { NodeRequestHeaders } from './headers.js'
export { sha256Base64url } from './digest.js'
export { actorTokenOf, kActorToken } from './caller.js'
export type { ActorType, VerifiedWorkload, VerifiedActor, Delegation, TokenDigests, VerifiedCaller } from './caller.js'
export { IDENTITY_MISSING_REASONS, IDENTITY_INVALID_REASONS, IDENTITY_UNAVAILABLE_REASONS, MINT_REASONS } from './reasons.js'
export type { IdentityReason, MintReason } from './reasons.js'
// Trust: who may sign what, and their keys.
export { createTrustBundle, TrustBundle } from './trust/trust-bundle.js'
export { recordTrustEvents } from './trust/trust-metrics.js'
export type { JwksMetricsRecorder } from './trust/trust-metrics.js'
export type {
  PublicJwk,
  JsonWebKeySet,
  RemoteJwksOptions,
  KeySourceOptions,
  DiscoveryOptions,
  WorkloadTrustAnchor,
  ActorIssuer,
  ActorIssuerFamily,
  TrustEvent,
  TrustCounters,
  TrustBundleOptions,
} from './trust/types.js'
// Verify: incoming token pairs to a verified caller.
export { AI_AGENT_TYPE } from './verify/principal.js'
export { createIdentityVerifier } from './verify/verifier.js'
export type { IdentityVerifier } from './verify/verifier.js'
export type {
  VerifyCallOptions,
  WorkloadMapping,
  ActorMapping,
  ClaimMappingOptions,
  IdentityVerifierOptions,
  VerifierStats,
} from './verify/types.js'
// Mint: outbound workload tokens and headers.
export { selfSignedTokenSource } from './mint/self-signed-source.js'
export type { SelfSignedSourceOptions } from './mint/self-signed-source.js'
export { tokenFileSource } from './mint/token-file-source.js'
export type { TokenFileSourceOptions } from './mint/token-file-source.js'
export { clientCredentialsSource } from './mint/client-credentials-source.js'
export type { ClientCredentialsSourceOptions } from './mint/client-credentials-source.js'
export type { WorkloadTokenSource, TokenRequest, SourcedToken } from './mint/token-source.js'
export { loadSigningKey } from './mint/signing-key.js'
export type { SigningKeyInput, SigningAlgorithm, SigningKey } from './mint/signing-key.js'
export { createWorkloadIdentity } from './mint/workload-identity.js'
export type { WorkloadIdentity, WorkloadIdentityOptions, OutboundIdentityRequest } from './mint/workload-identity.js'
// Transaction Tokens: receiving (trust + verify), the edge and outbound (mint).
export { TXN_TOKEN_TYP, TXN_TOKEN_HEADER, TXN_TOKEN_HASH_CLAIM, TXN_TOKEN_TYPE } from './txn-wire.js'
export { txnTokenOf, kTxnToken } from './caller.js'
export type { VerifiedTxn } from './caller.js'
export { TXN_TOKEN_DENIED_REASONS } from './reasons.js'
export type { TxnTokenServiceTrust } from './trust/types.js'
export type { EdgeCaller, IssuedTxnTokenFacts } from './verify/edge-caller.js'
export { createTxnTokenExchange } from './mint/txn-token-exchange.js'
export type { TxnTokenExchange, TxnTokenExchangeOptions, TxnTokenRequest, IssuedTxnToken, TxnSubjectTokenType } from './mint/txn-token-exchange.js'
// Verify: one-time use, revocation, the edge (DPoP, introspection).
export { createMemoryReplayStore, redisReplayStore } from './verify/replay.js'
export type { ReplayStore, ReplayOptions, RedisCommandClient, RedisReplayStoreOptions, ReplayCounters } from './verify/replay.js'
export { parseRevocationList } from './verify/revocation.js'
export type { RevocationOptions, RevocationListOptions, RevocationQuery, RevocationEntry, RevocationIndex } from './verify/revocation.js'
export { createEdgeVerifier } from './verify/edge-verifier.js'
export type { EdgeVerifier, EdgeVerifierOptions, EdgeRequest, EdgeVerifiedUser } from './verify/edge-verifier.js'
export { jwkThumbprint } from './verify/dpop.js'
export type { DpopOptions } from './verify/dpop.js'
export type { IntrospectionOptions } from './verify/introspection.js'
