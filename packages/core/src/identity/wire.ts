/**
 * The token wire format every side of identity agrees on: the `typ` header values and the
 * registered claims that describe a token rather than its caller.
 */

/** The `typ` of workload tokens minted by meshguard. */
export const WORKLOAD_TOKEN_TYP = 'workload+jwt'
/** The `typ` of OAuth 2.0 JWT access tokens (RFC 9068), the default for actor tokens. */
export const ACCESS_TOKEN_TYP = 'at+jwt'

/** Normalizes a `typ` value the way RFC 8725bis compares media types. */
export function normalizeTyp(typ: string): string {
  const lower = typ.toLowerCase()
  return lower.startsWith('application/') ? lower.slice('application/'.length) : lower
}

/** Claims that describe the token itself, not the caller; they never become policy attributes. */
export const TOKEN_CLAIMS: ReadonlySet<string> = new Set([
  'iss', 'sub', 'aud', 'exp', 'nbf', 'iat', 'jti', 'ath', 'act', 'txn', 'cnf', 'may_act',
])
