// Public API of the pipeline module: named exports only. Owned by the pipeline work stream.
export { createGuard } from './guard.js'
export { PROBLEM_CONTENT_TYPE, buildProblem } from './problem.js'
export { UNSPECIFIED_RESOURCE_ID } from './resolve.js'
export type {
  HeaderView,
  ActorRequirement,
  RequestView,
  ResourceResolver,
  ActionResolver,
  RouteAuthorization,
  AuthenticateOptions,
  VerifiedCallerLike,
  IdentityVerifierLike,
  CallerContextLike,
  ProblemDetails,
  ProblemCustomizer,
  GuardDecision,
  GuardGrant,
  GuardSuccess,
  GuardFailure,
  GuardOutcome,
  GuardOptions,
  Guard,
} from './types.js'
