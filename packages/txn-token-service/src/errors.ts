/**
 * The one error of the token endpoint: an RFC 6749 §5.2 error code with its HTTP status, inside
 * meshguard's error family (so `instanceof MeshguardError` and `reason` work as everywhere else).
 */
import { MeshguardError, type MeshguardErrorCode } from '@meshguard/core'
import type { OAuthErrorBody, OAuthErrorCode } from './token-format.js'

/** The HTTP status of each OAuth error (RFC 6749 §5.2: 400, and 401 for client authentication). */
export const OAUTH_ERROR_STATUS: Readonly<Record<OAuthErrorCode, number>> = Object.freeze({
  invalid_request: 400,
  invalid_client: 401,
  invalid_grant: 400,
  unauthorized_client: 400,
  unsupported_grant_type: 400,
  invalid_scope: 400,
  invalid_target: 400,
  temporarily_unavailable: 503,
})

/** The meshguard code each OAuth error belongs to. */
const MESHGUARD_CODE: Readonly<Record<OAuthErrorCode, MeshguardErrorCode>> = Object.freeze({
  invalid_request: 'ERR_AUTHZ_REQUEST_INVALID',
  invalid_client: 'ERR_AUTHZ_IDENTITY_INVALID',
  invalid_grant: 'ERR_AUTHZ_IDENTITY_INVALID',
  unauthorized_client: 'ERR_AUTHZ_DENIED',
  unsupported_grant_type: 'ERR_AUTHZ_REQUEST_INVALID',
  invalid_scope: 'ERR_AUTHZ_DENIED',
  invalid_target: 'ERR_AUTHZ_REQUEST_INVALID',
  temporarily_unavailable: 'ERR_AUTHZ_UNAVAILABLE',
})

const kTokenExchange = Symbol.for('@meshguard/error.txn-token-exchange')

/** A refused token exchange. The message is the `error_description`: safe to show, never a token. */
export class TokenExchangeError extends MeshguardError {
  /** The brand `instanceof` checks (meshguard errors compare brands, not prototypes). */
  static readonly brand = kTokenExchange
  get [kTokenExchange](): true {
    return true
  }
  /** The RFC 6749 error code of the response. */
  readonly oauthError: OAuthErrorCode
  /** An HTTP status other than the error's usual one (413, 415, 405, 404). */
  private readonly statusOverride: number | undefined

  constructor(oauthError: OAuthErrorCode, reason: string, description: string, options: { cause?: unknown; status?: number } = {}) {
    super(MESHGUARD_CODE[oauthError], description, { reason, cause: options.cause })
    this.oauthError = oauthError
    this.statusOverride = options.status
  }

  /** The HTTP status of the response. */
  override get httpStatus(): number {
    return this.statusOverride ?? OAUTH_ERROR_STATUS[this.oauthError]
  }

  /** The JSON body of the response. */
  toBody(): OAuthErrorBody {
    return { error: this.oauthError, error_description: this.message }
  }
}

/** Shorthand constructors, one per error code, so call sites read as the RFC does. */
export const refuse = {
  request: (reason: string, description: string, cause?: unknown) => new TokenExchangeError('invalid_request', reason, description, { cause }),
  client: (reason: string, description: string, cause?: unknown) => new TokenExchangeError('invalid_client', reason, description, { cause }),
  grant: (reason: string, description: string, cause?: unknown) => new TokenExchangeError('invalid_grant', reason, description, { cause }),
  scope: (reason: string, description: string) => new TokenExchangeError('invalid_scope', reason, description),
  target: (reason: string, description: string) => new TokenExchangeError('invalid_target', reason, description),
  unauthorized: (reason: string, description: string) => new TokenExchangeError('unauthorized_client', reason, description),
  unavailable: (reason: string, description: string, cause?: unknown) =>
    new TokenExchangeError('temporarily_unavailable', reason, description, { cause }),
}

/**
 * Any failure as a token-endpoint error: ours pass through; meshguard's unavailability stays 503;
 * anything else (a bug, a hook that threw) fails closed as 503 without detail.
 */
export function toTokenExchangeError(err: unknown): TokenExchangeError {
  if (err instanceof TokenExchangeError) return err
  if (err instanceof MeshguardError && err.code === 'ERR_AUTHZ_UNAVAILABLE') {
    return refuse.unavailable(err.reason, 'a dependency of the token service is unavailable', err)
  }
  return refuse.unavailable('internal', 'the token service could not complete the request', err)
}

/**
 * A failure of core's identity verifier as a token-endpoint error: unavailable keys stay 503 (fail
 * closed), anything else is the refusal `otherwise` builds from the verifier's reason code.
 */
export function fromVerifierError(err: unknown, otherwise: (reason: string | undefined) => TokenExchangeError): TokenExchangeError {
  if (err instanceof MeshguardError && err.code === 'ERR_AUTHZ_UNAVAILABLE') {
    return refuse.unavailable(err.reason, 'workload keys are unavailable', err)
  }
  return otherwise(err instanceof MeshguardError ? err.reason : undefined)
}
