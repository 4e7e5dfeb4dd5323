/**
 * Edge authentication: the browser (or the agent's scheduler) sends the access token the IdP
 * issued, as `Authorization: Bearer`. The gateway verifies it the standard OIDC way before any
 * call goes inward; inner services verify it again, bound to a workload token of the gateway.
 */
import { createRemoteJWKSet, errors, jwtVerify } from 'jose'

/**
 * @typedef {object} IdpSettings
 * @property {string} issuer
 * @property {string} jwksUri
 * @property {string} audience
 */

/**
 * @param {IdpSettings} idp
 * @returns {(authorization: string | undefined) => Promise<{ token: string, subject: string }>}
 *   rejects with an `EdgeAuthError` carrying a snake_case reason
 */
export function createEdgeAuthenticator(idp) {
  const keys = createRemoteJWKSet(new URL(idp.jwksUri), { timeoutDuration: 5000, cooldownDuration: 30_000 })
  return async (authorization) => {
    const match = /^Bearer ([A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+)$/.exec(authorization ?? '')
    if (!match?.[1]) throw new EdgeAuthError(authorization ? 'token_malformed' : 'token_missing')
    const token = match[1]
    try {
      const { payload } = await jwtVerify(token, keys, {
        issuer: idp.issuer,
        audience: idp.audience,
        typ: 'at+jwt',
        algorithms: ['ES256', 'EdDSA'],
        requiredClaims: ['sub', 'exp', 'iat'],
        maxTokenAge: '1h',
        clockTolerance: 30,
      })
      return { token, subject: String(payload.sub) }
    } catch (err) {
      throw new EdgeAuthError(err instanceof errors.JWTExpired ? 'token_expired' : 'token_invalid', { cause: err })
    }
  }
}

/** The user's token was missing or rejected at the edge (401). */
export class EdgeAuthError extends Error {
  /**
   * @param {string} reason snake_case
   * @param {{ cause?: unknown }} [options]
   */
  constructor(reason, options) {
    super(`edge authentication failed: ${reason}`, options)
    this.name = 'EdgeAuthError'
    this.reason = reason
  }
}
