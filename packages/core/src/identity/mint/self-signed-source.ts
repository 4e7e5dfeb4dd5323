import { randomUUID } from 'node:crypto'
import { SignJWT } from 'jose'
import { ConfigError, MintError } from '../../errors.js'
import { loadSigningKey, type SigningAlgorithm, type SigningKeyInput } from './signing-key.js'
import type { WorkloadTokenSource } from './token-source.js'
import { WORKLOAD_TOKEN_TYP } from '../wire.js'

/** Options of {@link selfSignedTokenSource}. */
export interface SelfSignedSourceOptions {
  /** The private key (Ed25519 or P-256). */
  key: SigningKeyInput
  /** The key id published in the trust bundle (required). */
  kid: string
  /** Checked against the key type when given. */
  alg?: SigningAlgorithm | undefined
  /** Token lifetime in seconds. @defaultValue 300 */
  lifetime?: number | undefined
  /**
   * Static claims added to every token. They are this workload's own say: callees show them to
   * handlers (`caller.workload.claims`) but never to policies, so they grant nothing. Roles and
   * attributes such as `type: 'AI_AGENT'` are granted by each callee's trust anchor (`roles`,
   * `attributes`). Reserved claims cannot be overridden.
   */
  claims?: Record<string, unknown> | undefined
}

const RESERVED = new Set(['iss', 'sub', 'aud', 'exp', 'nbf', 'iat', 'jti', 'ath', 'act', 'txn', 'tth'])

/**
 * Mints workload tokens signed with the service's own key: `typ: workload+jwt`, `iss = sub` = the
 * service's SPIFFE ID, `aud` = the callee, short lifetime, unique `jti`, plus `ath` (or `tth` for a
 * Txn-Token), `act` and `txn`.
 *
 * @throws ConfigError at creation for an unusable key or a missing `kid`
 */
export function selfSignedTokenSource(options: SelfSignedSourceOptions): WorkloadTokenSource {
  const signing = loadSigningKey(options.key, options.kid, 'identity.source', options.alg)
  const lifetime = options.lifetime ?? 300
  if (!Number.isFinite(lifetime) || lifetime < 10 || lifetime > 3600) {
    throw new ConfigError('identity.source.lifetime', 'must be between 10 and 3600 seconds')
  }
  const extra = { ...options.claims }
  for (const name of Object.keys(extra)) {
    if (RESERVED.has(name)) throw new ConfigError(`identity.source.claims.${name}`, 'is reserved')
  }
  return {
    kind: 'self-signed',
    binds: true,
    async token(request) {
      const iat = Math.floor(request.now / 1000)
      const payload: Record<string, unknown> = { ...extra }
      if (request.actorDigest !== undefined) payload['ath'] = request.actorDigest
      if (request.act !== undefined) payload['act'] = request.act
      if (request.transactionId !== undefined) payload['txn'] = request.transactionId
      if (request.txnTokenDigest !== undefined) payload['tth'] = request.txnTokenDigest
      // Never outlive the Txn-Token it is bound to.
      const exp = request.notAfter === undefined ? iat + lifetime : Math.min(iat + lifetime, Math.floor(request.notAfter / 1000))
      try {
        const token = await new SignJWT(payload)
          .setProtectedHeader({ alg: signing.alg, kid: signing.kid, typ: WORKLOAD_TOKEN_TYP })
          .setIssuer(request.id)
          .setSubject(request.id)
          .setAudience(request.audience)
          .setIssuedAt(iat)
          .setExpirationTime(exp)
          .setJti(randomUUID())
          .sign(signing.key)
        return { token, expiresAt: exp * 1000 }
      } catch (err) {
        throw new MintError('signing_failed', 'workload token could not be signed', { cause: err })
      }
    },
  }
}
