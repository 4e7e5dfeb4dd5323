/**
 * The token-exchange request as the draft profiles RFC 8693 (draft §10–§11): every parameter
 * checked before any token is looked at.
 */
import { refuse, TokenExchangeError } from './errors.js'
import type { FormParams } from './form.js'
import { parseJsonParam } from './json-param.js'
import { parseRequestedScope } from './scope.js'
import { TOKEN_EXCHANGE_GRANT_TYPE, TOKEN_TYPES, type SubjectTokenKind } from './token-format.js'

/** A checked exchange request. */
export interface ExchangeRequest {
  readonly subjectToken: string
  readonly subjectTokenKind: SubjectTokenKind
  /** Requested scope values, deduplicated, in request order. */
  readonly scope: readonly string[]
  /** `request_context` (prototype-less), when sent. */
  readonly context: Record<string, unknown> | undefined
  /** `request_details` (prototype-less), when sent. */
  readonly details: Record<string, unknown> | undefined
}

/** What the parser needs to know about the service. */
export interface RequestRules {
  readonly trustDomain: string
  readonly maxTokenBytes: number
  readonly maxJsonBytes: number
  readonly maxScopes: number
  readonly detailKeys: ReadonlySet<string> | undefined
  readonly contextKeys: ReadonlySet<string> | undefined
}

const SUBJECT_KINDS: ReadonlyMap<string, SubjectTokenKind> = new Map([
  [TOKEN_TYPES.accessToken, 'access_token'],
  [TOKEN_TYPES.jwt, 'jwt'],
  [TOKEN_TYPES.idToken, 'id_token'],
  [TOKEN_TYPES.selfSigned, 'self_signed'],
  [TOKEN_TYPES.txnToken, 'txn_token'],
])

/** `tctx.user` belongs to the service: a request cannot set it. */
const RESERVED_DETAILS: ReadonlySet<string> = new Set(['user'])

/** A compact JWS: three base64url parts (the payload may not be empty). */
const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/

/** Whether the request names the token-exchange grant; refuses other grants and a missing one. */
export function checkGrantType(params: FormParams): void {
  const grantType = params.get('grant_type')
  if (grantType === undefined) throw refuse.request('grant_type_missing', 'grant_type is required')
  if (grantType !== TOKEN_EXCHANGE_GRANT_TYPE) {
    throw new TokenExchangeError('unsupported_grant_type', 'grant_type_unsupported', 'only token exchange is supported')
  }
}

/** Checks a compact token's size and shape; `what` names it in descriptions. */
export function checkCompactToken(token: string | undefined, what: string, maxBytes: number): string {
  if (token === undefined || token === '') throw refuse.request(`${what}_missing`, `${what} is required`)
  if (token.length > maxBytes) throw refuse.request(`${what}_too_large`, `${what} is larger than ${maxBytes} bytes`)
  if (!COMPACT_JWS.test(token)) throw refuse.request(`${what}_malformed`, `${what} is not a compact JWS`)
  return token
}

/**
 * Parses the exchange parameters (the grant type was checked already; client authentication
 * parameters are read elsewhere).
 */
export function parseExchangeRequest(params: FormParams, rules: RequestRules): ExchangeRequest {
  const requested = params.get('requested_token_type')
  if (requested === undefined) throw refuse.request('requested_token_type_missing', 'requested_token_type is required')
  if (requested !== TOKEN_TYPES.txnToken) throw refuse.request('requested_token_type_unsupported', 'only Txn-Tokens are issued')
  if (params.has('actor_token') || params.has('actor_token_type')) {
    throw refuse.request('actor_token_unsupported', 'actor_token is not part of the Txn-Token profile')
  }
  if (params.has('resource')) throw refuse.target('resource_unsupported', 'resource is not supported; name the trust domain in audience')
  const audience = params.get('audience')
  if (audience === undefined) throw refuse.request('audience_missing', 'audience is required')
  if (audience !== rules.trustDomain) throw refuse.target('audience_mismatch', 'audience is not this trust domain')
  const scope = parseRequestedScope(params.get('scope'), rules.maxScopes)

  const typeUri = params.get('subject_token_type')
  if (typeUri === undefined) throw refuse.request('subject_token_type_missing', 'subject_token_type is required')
  const subjectTokenKind = SUBJECT_KINDS.get(typeUri)
  if (subjectTokenKind === undefined) throw refuse.request('subject_token_type_unsupported', 'subject_token_type is not supported')
  const subjectToken = checkCompactToken(params.get('subject_token'), 'subject_token', rules.maxTokenBytes)

  const context = parseJsonParam('request_context', params.get('request_context'), {
    maxBytes: rules.maxJsonBytes,
    allowedKeys: rules.contextKeys,
  })
  const details = parseJsonParam('request_details', params.get('request_details'), {
    maxBytes: rules.maxJsonBytes,
    allowedKeys: rules.detailKeys,
    reservedKeys: RESERVED_DETAILS,
  })
  return { subjectToken, subjectTokenKind, scope, context, details }
}
