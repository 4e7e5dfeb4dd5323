/**
 * Verification keys of external JWT issuers (subject-token issuers, Kubernetes clusters): a JWKS
 * inline, in a file, at a URL, or found through OIDC discovery. Keys only ever come from the
 * configuration, never from a token header.
 */
import { readFileSync } from 'node:fs'
import { ConfigError, MeshguardError } from '@meshguard/core'
import { checkTimes, parseCompactToken, verifyJwsSignature, type UnverifiedToken } from '@meshguard/core/txn-tokens'
import { createLocalJWKSet, createRemoteJWKSet, errors as joseErrors, type CompactJWSHeaderParameters, type JWTVerifyGetKey } from 'jose'
import type { TokenExchangeError } from './errors.js'
import { checkEndpointUrl } from './loopback-url.js'
import type { SubjectIssuerKeys } from './options.js'

/** Retry discovery no more often than this after a failure. */
const DISCOVERY_COOLDOWN_MS = 5000

const SHAPES = 'must be { jwksUrl }, { jwks }, { jwksFile } or { discovery: true }'

/** Whether an error means "the issuer's keys could not be fetched" rather than "the token is bad". */
function isKeyFetchFailure(err: unknown): boolean {
  if (!(err instanceof joseErrors.JOSEError)) return true
  return err.code === 'ERR_JWKS_TIMEOUT' || err.code === 'ERR_JOSE_GENERIC'
}

/** How a failed verification is refused: the issuer's keys unavailable (fail closed), or the token bad. */
export interface JwtRefusals {
  unavailable(err: unknown): TokenExchangeError
  invalid(err: unknown): TokenExchangeError
}

/** What an issuer's JWT must meet (seconds; the audience may be one of several). */
export interface IssuerJwtRules {
  readonly issuer: string
  readonly audience: string | readonly string[]
  /** The issuer's allowlist: the token's `alg` must be in it. */
  readonly algorithms: readonly string[]
  readonly clockTolerance: number
  readonly maxTokenAge: number
  readonly currentDate: Date
}

/**
 * Verifies `token` with an issuer's keys: the `alg` in the issuer's list and no `crit`, the key jose
 * selects from the issuer's JWKS, the signature with core's synchronous node:crypto check (no
 * WebCrypto thread hop; a token whose signature verified is remembered per key, so one user's
 * access token exchanged again is not checked twice), then `exp`, `nbf`, `iat` and `maxTokenAge`,
 * `iss`, `aud` and `sub` on every call. Claim failures are jose's error classes (`JWTExpired`,
 * `JWTClaimValidationFailed` with the claim), for the refusals to tell apart.
 *
 * @returns the claims, or throws the refusal `refusals` makes
 */
export async function verifyIssuerJwt(token: string, keys: () => Promise<JWTVerifyGetKey>, rules: IssuerJwtRules, refusals: JwtRefusals): Promise<Record<string, unknown>> {
  let parsed: UnverifiedToken
  try {
    // Callers bound the token's size before.
    parsed = parseCompactToken(token, token.length)
  } catch (err) {
    throw refusals.invalid(err)
  }
  const { header, payload } = parsed
  const alg = header['alg']
  // The allowlist is the issuer's, never the token's; critical extensions are not understood here.
  if (typeof alg !== 'string' || !rules.algorithms.includes(alg)) throw refusals.invalid(new joseErrors.JOSEAlgNotAllowed('"alg" is not allowed'))
  if (header['crit'] !== undefined) throw refusals.invalid(new joseErrors.JWSInvalid('critical header parameters are not supported'))
  let getKey: JWTVerifyGetKey
  try {
    getKey = await keys()
  } catch (err) {
    throw refusals.unavailable(err)
  }
  const [protectedHeader = '', encodedPayload = '', signature = ''] = token.split('.')
  let key: unknown
  try {
    key = await getKey(header as CompactJWSHeaderParameters, { protected: protectedHeader, payload: encodedPayload, signature })
  } catch (err) {
    throw isKeyFetchFailure(err) ? refusals.unavailable(err) : refusals.invalid(err)
  }
  try {
    // Synchronous: no `offload`.
    void verifyJwsSignature(token, key as Parameters<typeof verifyJwsSignature>[1], alg)
    checkTimes(payload, {
      now: Math.floor(rules.currentDate.getTime() / 1000),
      tolerance: rules.clockTolerance,
      maxLifetime: Infinity,
      maxTokenAge: rules.maxTokenAge,
      requireIat: true,
    })
  } catch (err) {
    throw refusals.invalid(asJoseError(err, payload))
  }
  const claimFailure = (claim: string, reason: string): TokenExchangeError =>
    refusals.invalid(new joseErrors.JWTClaimValidationFailed(`unexpected "${claim}" claim value`, payload, claim, reason))
  if (payload['iss'] !== rules.issuer) throw claimFailure('iss', 'check_failed')
  if (!namesAudience(payload['aud'], rules.audience)) throw claimFailure('aud', 'check_failed')
  if (payload['sub'] === undefined) throw claimFailure('sub', 'missing')
  return payload
}

/** Core's time-rule errors as jose's claim errors (expired and too old are both `JWTExpired`). */
function asJoseError(err: unknown, payload: Readonly<Record<string, unknown>>): unknown {
  if (!(err instanceof MeshguardError)) return err
  switch (err.reason) {
    case 'token_expired':
      return new joseErrors.JWTExpired(err.message, payload, 'exp', 'check_failed')
    case 'token_too_old':
      return new joseErrors.JWTExpired(err.message, payload, 'iat', 'check_failed')
    case 'token_not_yet_valid':
      return new joseErrors.JWTClaimValidationFailed(err.message, payload, 'nbf', 'check_failed')
    case 'iat_in_future':
      return new joseErrors.JWTClaimValidationFailed(err.message, payload, 'iat', 'check_failed')
    default:
      return err
  }
}

/** Whether `aud` (a string or a list of strings) names one of the accepted audiences. */
function namesAudience(aud: unknown, accepted: string | readonly string[]): boolean {
  const list = typeof accepted === 'string' ? [accepted] : accepted
  if (typeof aud === 'string') return list.includes(aud)
  return Array.isArray(aud) && aud.some((a) => typeof a === 'string' && list.includes(a))
}

/** The key lookup of one issuer; `option` names it in configuration errors. */
export function jwtKeySource(keys: SubjectIssuerKeys, option: string, issuer: string, timeoutDuration: number): () => Promise<JWTVerifyGetKey> {
  const shape = keys as Record<string, unknown> | undefined
  if (typeof shape !== 'object' || (shape as unknown) === null) throw new ConfigError(option, SHAPES)
  if ('jwks' in shape) {
    const local = createLocalJWKSet(shape['jwks'] as Parameters<typeof createLocalJWKSet>[0])
    return () => Promise.resolve(local)
  }
  if ('jwksFile' in shape) {
    let parsed: unknown
    try {
      parsed = JSON.parse(readFileSync(String(shape['jwksFile']), 'utf8'))
    } catch (err) {
      throw new ConfigError(`${option}.jwksFile`, 'is not a readable JWKS file', { cause: err })
    }
    const local = createLocalJWKSet(parsed as Parameters<typeof createLocalJWKSet>[0])
    return () => Promise.resolve(local)
  }
  if ('jwksUrl' in shape) {
    const remote = createRemoteJWKSet(checkEndpointUrl(shape['jwksUrl'], `${option}.jwksUrl`), { timeoutDuration })
    return () => Promise.resolve(remote)
  }
  if (shape['discovery'] === true) return discoveredKeys(issuer, timeoutDuration)
  throw new ConfigError(option, SHAPES)
}

/** The issuer's `jwks_uri` from its OIDC discovery document, fetched once (again after failures). */
function discoveredKeys(issuer: string, timeoutDuration: number): () => Promise<JWTVerifyGetKey> {
  let found: Promise<JWTVerifyGetKey> | undefined
  let failedAt = -Infinity
  const discover = async (): Promise<JWTVerifyGetKey> => {
    const url = `${issuer.replace(/\/$/, '')}/.well-known/openid-configuration`
    const response = await fetch(url, { signal: AbortSignal.timeout(timeoutDuration), redirect: 'error' })
    if (!response.ok) throw new Error(`discovery answered ${response.status}`)
    const metadata = (await response.json()) as Record<string, unknown>
    if (metadata['issuer'] !== issuer) throw new Error('discovery document names another issuer')
    return createRemoteJWKSet(checkEndpointUrl(metadata['jwks_uri'], 'jwks_uri'), { timeoutDuration })
  }
  return () => {
    if (found !== undefined) return found
    if (Date.now() - failedAt < DISCOVERY_COOLDOWN_MS) return Promise.reject(new Error('discovery failed recently'))
    found = discover()
    found.catch(() => {
      found = undefined
      failedAt = Date.now()
    })
    return found
  }
}

