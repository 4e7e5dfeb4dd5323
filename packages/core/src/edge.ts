/**
 * `@meshguard/core/edge`: access tokens where they enter the mesh. The edge verifier checks a
 * user's (or agent's) access token as `Bearer` or DPoP-bound (RFC 9449), introspects opaque tokens
 * (RFC 7662), and hands back the actor and the token to forward inward.
 *
 * @packageDocumentation
 */
export { createEdgeVerifier, jwkThumbprint } from './identity/index.js'
export type { EdgeVerifier, EdgeVerifierOptions, EdgeRequest, EdgeVerifiedUser, DpopOptions, IntrospectionOptions } from './identity/index.js'
