// Public API of the identity module: named exports only.
export { parseSpiffeId, isSpiffeId } from './spiffe.js'
export type { SpiffeId, IdentityPattern } from './spiffe.js'
export { createTrustBundle, TrustBundle, WORKLOAD_TOKEN_TYP, ACCESS_TOKEN_TYP } from './trust-bundle.js'
export { ASYMMETRIC_ALGORITHMS, DEFAULT_ALGORITHMS } from './jwk.js'
export { DEFAULT_ACTOR_HEADER, DEFAULT_TRANSACTION_HEADER, SINGLE_VALUE_HEADERS, headerViewOf } from './headers.js'
export type { NodeRequestHeaders } from './headers.js'
export { AI_AGENT_TYPE } from './principal.js'
export { sha256Base64url } from './digest.js'
export { createIdentityVerifier, actorTokenOf, kActorToken } from './verifier.js'
export type { IdentityVerifier } from './verifier.js'
export { selfSignedTokenSource } from './self-signed-source.js'
export type { SelfSignedSourceOptions } from './self-signed-source.js'
export { tokenFileSource } from './token-file-source.js'
export type { TokenFileSourceOptions } from './token-file-source.js'
export { clientCredentialsSource } from './client-credentials-source.js'
export type { ClientCredentialsSourceOptions } from './client-credentials-source.js'
export type { WorkloadTokenSource, TokenRequest, SourcedToken } from './token-source.js'
export { loadSigningKey } from './signing-key.js'
export type { SigningKeyInput, SigningAlgorithm, SigningKey } from './signing-key.js'
export { createWorkloadIdentity } from './workload-identity.js'
export type { WorkloadIdentity, WorkloadIdentityOptions, OutboundIdentityRequest } from './workload-identity.js'
export type {
  PublicJwk,
  JsonWebKeySet,
  RemoteJwksOptions,
  KeySourceOptions,
  WorkloadTrustAnchor,
  ActorIssuer,
  TrustEvent,
  TrustCounters,
  TrustBundleOptions,
  VerifyCallOptions,
  ActorType,
  WorkloadMapping,
  ActorMapping,
  ClaimMappingOptions,
  IdentityVerifierOptions,
  VerifiedWorkload,
  VerifiedActor,
  Delegation,
  TokenDigests,
  VerifiedCaller,
  VerifierStats,
} from './types.js'
export { IDENTITY_MISSING_REASONS, IDENTITY_INVALID_REASONS, IDENTITY_UNAVAILABLE_REASONS, MINT_REASONS } from './reasons.js'
export type { IdentityReason, MintReason } from './reasons.js'
export { recordTrustEvents } from './trust-metrics.js'
export type { JwksMetricsRecorder } from './trust-metrics.js'
