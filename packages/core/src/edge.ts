/**
 * `@meshguard/core/edge`: access tokens where they enter the mesh. The one edge verifier checks a
 * user's (or agent's) access token as `Bearer` or DPoP-bound (RFC 9449), introspects opaque tokens
 * (RFC 7662), and consults revocation. Give its options to the guard as `edge` (`EdgeOptions`) so
 * every adapter's `authorize()` verifies at the edge, audited and traced like any hop; or call
 * `createEdgeVerifier` directly. Route claim requirements (`claims`) and their errors live here too.
 *
 * @packageDocumentation
 */
export { createEdgeVerifier, jwkThumbprint } from './identity/index.js'
export type { EdgeVerifier, EdgeVerifierOptions, EdgeRequest, EdgeVerifiedUser, EdgeCaller, DpopOptions, IntrospectionOptions } from './identity/index.js'
export { InsufficientClaimsError, InsufficientUserAuthenticationError } from './pipeline/index.js'
export type { EdgeOptions, ClaimValue, ClaimRequirement, ClaimsRequirement } from './pipeline/index.js'
