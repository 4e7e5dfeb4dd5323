/**
 * Turns a meshguard error into the RFC 9457 problem body and response headers an adapter sends.
 * Texts are fixed per code, so no error message (which may name policy internals) reaches a caller.
 */
import type { MeshguardError, MeshguardErrorCode } from '../errors.js'
import { wptChallengeOf } from '../identity/wimse-wire.js'
import type { GuardFailure, ProblemCustomizer, ProblemDetails } from './types.js'

/** The media type of every refusal body. */
export const PROBLEM_CONTENT_TYPE = 'application/problem+json'

const TITLES: Readonly<Record<number, string>> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
}

const DETAILS: Readonly<Partial<Record<MeshguardErrorCode, string>>> = {
  ERR_AUTHZ_IDENTITY_MISSING: 'Credentials are required for this request.',
  ERR_AUTHZ_IDENTITY_INVALID: 'The credentials presented were rejected.',
  ERR_AUTHZ_DENIED: 'The policy does not allow this action on this resource.',
  ERR_AUTHZ_UNAVAILABLE: 'A dependency needed to decide is unavailable; try again later.',
  ERR_AUTHZ_RESOURCE_RESOLUTION: 'The resource of this request could not be resolved.',
  ERR_AUTHZ_AUDIT_FAILED: 'The decision could not be recorded; try again later.',
  ERR_AUTHZ_REQUEST_INVALID: 'The authorization request was invalid.',
}

const DEFAULT_DETAIL = 'The request could not be authorized.'

/** Settings resolved once by the guard. */
export interface ProblemSettings {
  readonly typeBase: string
  readonly realm: string
  readonly customize?: ProblemCustomizer | undefined
  readonly onInternalError: (error: unknown) => void
  /**
   * At the edge: the challenge headers of a 401 about the access token (`WWW-Authenticate` naming
   * `Bearer` and `DPoP`, RFC 9449 §7.1, and a fresh `DPoP-Nonce`), replacing the plain Bearer one;
   * with `refusal` (the auth-params of a scope or step-up refusal of a DPoP-bound token), its DPoP challenge.
   */
  readonly challenge?: ((error: MeshguardError, realm: string, refusal?: readonly string[]) => Readonly<Record<string, string>>) | undefined
}

/** `ERR_AUTHZ_IDENTITY_INVALID` → `identity-invalid`. */
function problemSlug(code: MeshguardErrorCode): string {
  return code.replace(/^ERR_AUTHZ_/, '').toLowerCase().replaceAll('_', '-')
}

/** Quotes a value for an HTTP auth-param (RFC 9110 quoted-string). */
function quoted(value: string): string {
  return `"${value.replace(/[\\"]/g, '\\$&')}"`
}

/** RFC 6750 §3: no error code when credentials are absent, `invalid_token` when they were rejected. */
function wwwAuthenticate(error: MeshguardError, realm: string): string {
  // wpt §2.1: a WIMSE-receiving service challenges with the parameterless `WPT` scheme.
  const wpt = wptChallengeOf(error)
  if (wpt === 'WPT') return 'WPT'
  if (wpt !== undefined) return `WPT, ${bearerChallenge(error, realm)}`
  return bearerChallenge(error, realm)
}

function bearerChallenge(error: MeshguardError, realm: string): string {
  if (error.code === 'ERR_AUTHZ_IDENTITY_MISSING') return `Bearer realm=${quoted(realm)}`
  return `Bearer realm=${quoted(realm)}, error="invalid_token"`
}

/** What a refusal the token's holder can fix is about, and the scheme its challenge names. */
interface Refusal {
  /** The auth-params after `realm`: `error=…` and what would satisfy the route. */
  readonly params: readonly string[]
  readonly scheme: 'Bearer' | 'DPoP'
}

const schemeOf = (error: MeshguardError): 'Bearer' | 'DPoP' => ((error as { scheme?: unknown }).scheme === 'DPoP' ? 'DPoP' : 'Bearer')

/**
 * RFC 6750 §3.1: a request whose token lacks what the route requires gets `insufficient_scope`,
 * naming the scope when a scope is missing (RFC 6750 has no finer code for claims).
 */
function scopeRefusal(error: MeshguardError): Refusal | undefined {
  if (error.reason === 'insufficient_claims') return { params: ['error="insufficient_scope"', 'error_description="required claims are missing"'], scheme: schemeOf(error) }
  const required = (error as { requiredScope?: unknown }).requiredScope
  if (error.reason !== 'insufficient_scope' || !Array.isArray(required)) return undefined
  return { params: ['error="insufficient_scope"', `scope=${quoted(required.join(' '))}`], scheme: schemeOf(error) }
}

/** RFC 9470 §3: step-up names the authentication context classes and/or the maximum age that would do. */
function stepUpRefusal(error: MeshguardError): Refusal | undefined {
  if (error.reason !== 'insufficient_user_authentication') return undefined
  const { acrValues, maxAge } = error as { acrValues?: readonly string[] | undefined; maxAge?: number | undefined }
  const params = ['error="insufficient_user_authentication"', 'error_description="a stronger or more recent authentication is required"']
  if (acrValues !== undefined) params.push(`acr_values=${quoted(acrValues.join(' '))}`)
  if (maxAge !== undefined) params.push(`max_age="${maxAge}"`)
  return { params, scheme: schemeOf(error) }
}

/**
 * The challenge of a refusal: at a DPoP edge, a DPoP-bound token's refusal is challenged in the DPoP
 * scheme by the edge (RFC 9449 §7.1, with its `algs`); otherwise in Bearer.
 */
function refusalChallenge(refusal: Refusal, error: MeshguardError, settings: ProblemSettings): Readonly<Record<string, string>> {
  if (refusal.scheme === 'DPoP' && settings.challenge !== undefined) return settings.challenge(error, settings.realm, refusal.params)
  return { 'www-authenticate': `Bearer realm=${quoted(settings.realm)}, ${refusal.params.join(', ')}` }
}

/** The default problem body for an error. */
export function buildProblem(error: MeshguardError, decisionId: string, typeBase: string): ProblemDetails {
  const status = error.httpStatus
  const problem: ProblemDetails = {
    type: `${typeBase}${problemSlug(error.code)}`,
    title: TITLES[status] ?? 'Error',
    status,
    detail: DETAILS[error.code] ?? DEFAULT_DETAIL,
    code: error.code,
    reason: error.reason,
    decisionId,
  }
  // Which of the two tokens a 401 is about: the caller sent both and cannot tell from the reason alone.
  if (error.tokenKind !== undefined) problem.tokenKind = error.tokenKind
  return problem
}

/** Applies the service's customizer inside a guard; the status always stays the error's. */
function customized(problem: ProblemDetails, error: MeshguardError, settings: ProblemSettings): ProblemDetails {
  if (!settings.customize) return problem
  try {
    const shaped = settings.customize({ ...problem }, error)
    if (typeof shaped !== 'object' || (shaped as unknown) === null) return problem
    return { ...shaped, status: problem.status }
  } catch (err) {
    settings.onInternalError(err)
    return problem
  }
}

/** The complete refusal an adapter sends. */
export function failureFor(error: MeshguardError, decisionId: string, settings: ProblemSettings): GuardFailure {
  const problem = customized(buildProblem(error, decisionId, settings.typeBase), error, settings)
  const headers: Record<string, string> = {
    'content-type': PROBLEM_CONTENT_TYPE,
    'cache-control': 'no-store',
  }
  if (problem.status === 401) {
    const stepUp = stepUpRefusal(error)
    if (stepUp !== undefined) Object.assign(headers, refusalChallenge(stepUp, error, settings))
    else if (settings.challenge !== undefined) Object.assign(headers, settings.challenge(error, settings.realm))
    else headers['www-authenticate'] = wwwAuthenticate(error, settings.realm)
  }
  const scope = problem.status === 403 ? scopeRefusal(error) : undefined
  if (scope !== undefined) Object.assign(headers, refusalChallenge(scope, error, settings))
  return Object.freeze({ ok: false, status: problem.status, headers: Object.freeze(headers), problem, error })
}
