/**
 * `@meshguard/core/adapter`: what a framework adapter needs and an application does not: the shared
 * request flow, route compilation, header views and problem bodies. Adapters translate; these decide.
 *
 * @packageDocumentation
 */
export {
  decideRequest,
  decideListRequest,
  whenDecided,
  compileRoute,
  compileListRoute,
  checkAuthenticateOptions,
  unconfiguredOptionsOf,
  attachRequestGrant,
  buildProblem,
  PROBLEM_CONTENT_TYPE,
  UNSPECIFIED_RESOURCE_ID,
  UNGUARDED_ROUTE,
  requirementOf,
  formatRouteTable,
  assertRoutesGuarded,
  unguardedRoutes,
} from './pipeline/index.js'
export type {
  RequestView,
  HeaderView,
  ActorRequirement,
  VerifiedCallerLike,
  IdentityVerifierLike,
  CallerContextLike,
  GuardDecision,
  GuardSuccess,
  GuardFailure,
  GuardOutcome,
  HandlerCheckResult,
  ActionDecision,
  ResourceDecisions,
  RouteRequirement,
  RouteGuardKind,
} from './pipeline/index.js'
export { headerViewOf, SINGLE_VALUE_HEADERS, kActorToken, sha256Base64url } from './identity/index.js'
export type { NodeRequestHeaders, VerifyCallOptions, VerifierStats, TokenDigests } from './identity/index.js'
