/**
 * `@meshguard/core`: the Cerbos-compatible embedded policy engine, workload/actor identity, the
 * framework-neutral guard pipeline, audit and telemetry. Adapters and the client build on this.
 *
 * @packageDocumentation
 */
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
export type { MeshguardErrorCode, MeshguardErrorOptions, PolicyIssue, TokenKind } from './errors.js'
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
} from './types.js'
export * from './cel/index.js'
export * from './policy/index.js'
export * from './engine/index.js'
export * from './testsuite/index.js'
export * from './identity/index.js'
export * from './context/index.js'
export * from './pipeline/index.js'
export * from './audit/index.js'
export * from './telemetry/index.js'
export * from './reload/index.js'
export * from './remote/index.js'
