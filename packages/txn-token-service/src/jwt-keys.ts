/**
 * Verification keys of external JWT issuers (subject-token issuers, Kubernetes clusters): a JWKS
 * inline, in a file, at a URL, or found through OIDC discovery. Keys only ever come from the
 * configuration, never from a token header.
 */
import { readFileSync } from 'node:fs'
import { ConfigError } from '@meshguard/core'
import { createLocalJWKSet, createRemoteJWKSet, errors as joseErrors, jwtVerify, type JWTVerifyGetKey, type JWTVerifyOptions } from 'jose'
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

/** Verifies `token` with an issuer's keys (`exp`, `iat` and `sub` required); the claims, or the refusal `refusals` makes. */
export async function verifyIssuerJwt(
  token: string,
  keys: () => Promise<JWTVerifyGetKey>,
  options: JWTVerifyOptions,
  refusals: JwtRefusals,
): Promise<Record<string, unknown>> {
  let getKey: JWTVerifyGetKey
  try {
    getKey = await keys()
  } catch (err) {
    throw refusals.unavailable(err)
  }
  try {
    const verified = await jwtVerify(token, getKey, { requiredClaims: ['exp', 'iat', 'sub'], ...options })
    return verified.payload as Record<string, unknown>
  } catch (err) {
    throw isKeyFetchFailure(err) ? refusals.unavailable(err) : refusals.invalid(err)
  }
}

/** The key lookup of one issuer; `option` names it in configuration errors. */
export function jwtKeySource(keys: SubjectIssuerKeys, option: string, issuer: string, timeoutDuration: number): () => Promise<JWTVerifyGetKey> {
  const shape = keys as Record<string, unknown> | undefined
  if (typeof shape !== 'object' || shape === null) throw new ConfigError(option, SHAPES)
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

