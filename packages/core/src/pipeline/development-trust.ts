/**
 * The local development issuer (`meshguard user-token`) mints actor tokens for anyone with the
 * project's checkout. A service may trust it while developing; `createMeshguard` refuses to start
 * with it under NODE_ENV=production, so a development trust file that reaches production fails
 * loudly instead of letting every developer's tokens in.
 */
import { ConfigError } from '../errors.js'
import type { IdentityVerifierOptions } from '../identity/index.js'

/** The `iss` of development actor tokens: a URN no real identity provider uses. */
export const DEVELOPMENT_ACTOR_ISSUER = 'urn:meshguard:development-issuer'
/** The audience of development actor tokens. */
export const DEVELOPMENT_ACTOR_AUDIENCE = 'meshguard-development'

/**
 * Throws when trust options list the development issuer and the process runs in production.
 * A ready `TrustBundle` is not inspected (it was built by code that chose its issuers).
 *
 * @throws ConfigError naming the offending `identity.trust.actors[i]`
 */
export function refuseDevelopmentTrustInProduction(identity: IdentityVerifierOptions, env: NodeJS.ProcessEnv = process.env): void {
  if (env['NODE_ENV'] !== 'production') return
  const trust = identity.trust as { actors?: unknown }
  if (!Array.isArray(trust.actors)) return
  trust.actors.forEach((actor: unknown, i) => {
    if ((actor as { issuer?: unknown } | null)?.issuer === DEVELOPMENT_ACTOR_ISSUER) {
      throw new ConfigError(`identity.trust.actors[${i}]`, 'trusts the development issuer while NODE_ENV=production; development trust belongs in development configuration only')
    }
  })
}
