// Public API of the pipeline module: named exports only. Owned by the pipeline work stream.
export { createGuard } from './guard.js'
export { createMeshguard } from './meshguard.js'
export type { MeshguardConfig, Meshguard } from './meshguard.js'
export { DEVELOPMENT_ACTOR_ISSUER, DEVELOPMENT_ACTOR_AUDIENCE } from './development-trust.js'
export { PROBLEM_CONTENT_TYPE, buildProblem } from './problem.js'
export { UNSPECIFIED_RESOURCE_ID } from './resolve.js'
export { InsufficientScopeError, scopesOf } from './scope.js'
export { InsufficientClaimsError, InsufficientUserAuthenticationError } from './claims.js'
export type { ClaimValue, ClaimRequirement, ClaimsRequirement } from './types.js'
export type { EdgeOptions } from './types.js'
export { compileRoute, compileListRoute, checkAuthenticateOptions, unconfiguredOptionsOf } from './route.js'
export { decideRequest, decideListRequest, whenDecided } from './adapter-flow.js'
export { attachRequestGrant } from './request-grant.js'
export { MAX_HANDLER_CHECK_ITEMS } from './handler-check.js'
export { shadowDifferences, MAX_SHADOW_DIFFERENCES } from './shadow.js'
export type { ShadowEngine, ShadowOptions } from './shadow.js'
export { openShadowPolicies } from './shadow-policies.js'
export { UNGUARDED_ROUTE, requirementOf, formatRouteTable, assertRoutesGuarded, unguardedRoutes } from './route-table.js'
export type { RouteGuardKind, RouteRequirement } from './route-table.js'
export type { ShadowPolicies, ShadowPoliciesOptions } from './shadow-policies.js'
// The header view and actor requirement are identity's types, re-exported here as part of RequestView's API.
export type { HeaderView } from '../identity/headers.js'
export type { ActorRequirement } from '../identity/verify/types.js'
export type {
  RequestView,
  ResourceResolver,
  ActionResolver,
  RouteAuthorization,
  ListRouteAuthorization,
  ListPlan,
  AuthenticateOptions,
  VerifiedCallerLike,
  IdentityVerifierLike,
  CallerContextLike,
  ProblemDetails,
  ProblemCustomizer,
  GuardDecision,
  GuardGrant,
  ActionDecision,
  ResourceDecisions,
  HandlerCheckResult,
  ExplainOptions,
  ExplainingEngine,
  GuardSuccess,
  GuardFailure,
  GuardOutcome,
  GuardOptions,
  Guard,
} from './types.js'
