/**
 * `@meshguard/core`: the Cerbos-compatible embedded policy engine, workload/actor identity, the
 * framework-neutral guard, audit and telemetry. Adapters and the client build on this.
 *
 * The main entry names every export it offers. Parts most applications never import live behind
 * subpaths: `@meshguard/core/node` (file sinks, file token sources, policy watching),
 * `@meshguard/core/remote` (a remote Cerbos PDP, needs `@cerbos/grpc`), `@meshguard/core/adapter`
 * (what framework adapters need), `@meshguard/core/testing` (the policy test-suite runner) and
 * `@meshguard/core/telemetry` (span, metric and event names for dashboards) and `@meshguard/core/edge`
 * (access tokens where they enter the mesh: DPoP, introspection).
 *
 * @packageDocumentation
 */

// Errors: one family, stable codes.
export {
  MeshguardError,
  ConfigError,
  PolicyError,
  RequestError,
  IdentityMissingError,
  IdentityError,
  DeniedError,
  UnavailableError,
  MintError,
  ConditionError,
  PlanOperatorError,
  PlanUnsupportedError,
  ResourceResolutionError,
  AuditError,
  InternalError,
  ERROR_HTTP_STATUS,
  formatPolicyIssue,
  toMeshguardError,
} from './errors.js'
export type { AnyMeshguardError, MeshguardErrorCode, MeshguardErrorOptions, PolicyIssue, TokenKind } from './errors.js'

// The Cerbos CheckResources shapes every engine speaks.
export type {
  Value,
  Principal,
  Resource,
  ResourceCheck,
  AuxData,
  CheckResourcesRequest,
  Effect,
  ValidationErrorSource,
  ValidationError,
  OutputEntry,
  ActionMeta,
  CheckResourceResult,
  CheckResourcesResponse,
  DecisionEngine,
  DecisionExplanation,
} from './types.js'

// Policies and the embedded engine.
export { compileCel } from './cel/index.js'
export type { CelProgram } from './cel/index.js'
export { compilePolicies, loadPolicyDirectory } from './policy/index.js'
export type {
  CompileOptions,
  PolicySource,
  PolicyObjectSource,
  LoadPolicyDirectoryOptions,
  CompiledPolicySet,
} from './policy/index.js'
export { EmbeddedEngine, planPredicate, toCerbosSdkPlan } from './engine/index.js'
export type {
  EmbeddedEngineOptions,
  EngineAuxData,
  SchemaEnforcement,
  CheckInput,
  CheckOutput,
  PlanResourcesRequest,
  PlanResourcesResponse,
  PlanFilter,
  PlanOperand,
  SdkPlanResourcesResponse,
} from './engine/index.js'
export { policyInfo } from './reload/index.js'
export type { PolicyInfo } from './reload/index.js'

// Identity: verify callers, trust configuration, mint outbound credentials.
export {
  createIdentityVerifier,
  actorTokenOf,
  createTrustBundle,
  TrustBundle,
  createWorkloadIdentity,
  selfSignedTokenSource,
  clientCredentialsSource,
  loadSigningKey,
  parseSpiffeId,
  isSpiffeId,
  DEFAULT_ACTOR_HEADER,
  DEFAULT_TRANSACTION_HEADER,
  WORKLOAD_TOKEN_TYP,
  ACCESS_TOKEN_TYP,
  AI_AGENT_TYPE,
  IDENTITY_MISSING_REASONS,
  IDENTITY_INVALID_REASONS,
  IDENTITY_UNAVAILABLE_REASONS,
  MINT_REASONS,
} from './identity/index.js'
export type {
  IdentityVerifier,
  IdentityVerifierOptions,
  TrustBundleOptions,
  WorkloadTrustAnchor,
  ActorIssuer,
  ActorType,
  RemoteJwksOptions,
  KeySourceOptions,
  PublicJwk,
  JsonWebKeySet,
  ClaimMappingOptions,
  WorkloadMapping,
  ActorMapping,
  TrustEvent,
  VerifiedCaller,
  VerifiedWorkload,
  VerifiedActor,
  Delegation,
  WorkloadIdentity,
  WorkloadIdentityOptions,
  OutboundIdentityRequest,
  WorkloadTokenSource,
  TokenRequest,
  SourcedToken,
  SelfSignedSourceOptions,
  ClientCredentialsSourceOptions,
  SigningKeyInput,
  SigningAlgorithm,
  SigningKey,
  SpiffeId,
  IdentityPattern,
  IdentityReason,
  MintReason,
} from './identity/index.js'
export { CallerContext, callerContext } from './context/index.js'
export type { CallerMode, OutboundContext, BackgroundScopeOptions } from './context/index.js'

// The guard: one request, credentials to decision.
export { createMeshguard, createGuard, DEVELOPMENT_ACTOR_ISSUER, DEVELOPMENT_ACTOR_AUDIENCE } from './pipeline/index.js'
export type {
  Meshguard,
  MeshguardConfig,
  Guard,
  GuardOptions,
  GuardGrant,
  RouteAuthorization,
  ListRouteAuthorization,
  ListPlan,
  AuthenticateOptions,
  ResourceResolver,
  ActionResolver,
  ProblemDetails,
  ProblemCustomizer,
} from './pipeline/index.js'

// Audit and telemetry.
export { createAuditLog, stdoutSink, functionSink, otelLogsSink } from './audit/index.js'
export type {
  AuditLog,
  AuditLogOptions,
  AuditSink,
  AuditRecord,
  AuditAttributeConfig,
  StreamSinkOptions,
  OtelLogsSinkOptions,
} from './audit/index.js'
export { createTelemetry } from './telemetry/index.js'
export type { Telemetry, TelemetryOptions } from './telemetry/index.js'
