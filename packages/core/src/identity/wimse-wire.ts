/**
 * The WIMSE wire format (draft-ietf-wimse-workload-creds-02, draft-ietf-wimse-wpt-02) shared by every
 * side of identity: token types, header names, the proof's claims, and the workload identifier.
 */
import { IdentityError } from '../errors.js'
import { parseSpiffeId } from './spiffe.js'

/** The `typ` of a Workload Identity Token (creds §5.1). */
export const WIT_TYP = 'wit+jwt'
/** The `typ` of a Workload Proof Token (wpt §2); `application/wpt+jwt` is the same type. */
export const WPT_TYP = 'wpt+jwt'
/** The request header a WIT travels in (creds §5.1.1), lower-case. */
export const WIT_HEADER = 'workload-identity-token'
/** The `Authorization` scheme of a WPT (wpt §2), compared case-insensitively. */
export const WPT_SCHEME = 'WPT'
/**
 * The collision-resistant WIT claim (creds §5.1.2) under which an issuer asserts roles and
 * attributes: `{ roles?: string[], attr?: object }`. Honoured only from issuers configured as
 * attribute authorities.
 */
export const WIT_ATTRIBUTES_CLAIM = 'https://meshguard.dev/wit'

/** A workload identifier (id §4.1): a `spiffe://` or `wimse://` URI and its trust domain. */
export interface WorkloadIdentifier {
  readonly id: string
  readonly trustDomain: string
}

const WIMSE_PREFIX = 'wimse://'
const WPT_AUTHORIZATION = /^wpt +([A-Za-z0-9._~+/-]+=*)$/i

/**
 * Parses a WIT `sub`: an absolute `spiffe://` or `wimse://` URI with a trust domain and a path, no
 * query, fragment, userinfo, port or percent-encoding, at most 2048 bytes (the SPIFFE-ID rules,
 * which are id §4.1's plus a strict character set).
 *
 * @throws IdentityError `wit_invalid`; the message never echoes the input
 */
export function parseWorkloadIdentifier(value: unknown): WorkloadIdentifier {
  try {
    if (typeof value === 'string' && value.startsWith(WIMSE_PREFIX)) {
      const parsed = parseSpiffeId(`spiffe://${value.slice(WIMSE_PREFIX.length)}`)
      return { id: value, trustDomain: parsed.trustDomain }
    }
    return parseSpiffeId(value)
  } catch (err) {
    throw new IdentityError('wit_invalid', 'WIT "sub" is not a workload identifier (spiffe:// or wimse://)', { tokenKind: 'workload', cause: err })
  }
}

/** Whether an `authorization` value uses the `WPT` scheme (any case), before it is parsed. */
export function isWptAuthorization(value: string): boolean {
  return value.length > 4 && (value.charCodeAt(3) === 32 || value.charCodeAt(3) === 9) && value.slice(0, 3).toLowerCase() === 'wpt'
}

/**
 * The proof of an `Authorization: WPT <token68>` value.
 *
 * @throws IdentityError `wpt_invalid` when the value is not one token68 after the scheme
 */
export function parseWptAuthorization(value: string): string {
  const match = WPT_AUTHORIZATION.exec(value.trim())
  if (match === null) throw new IdentityError('wpt_invalid', 'authorization is not "WPT <token>"', { tokenKind: 'workload' })
  return match[1] as string
}

/** The challenge a 401 answers with: `WPT` alone, or `WPT` beside `Bearer` while both profiles are accepted. */
export type WptChallenge = 'WPT' | 'WPT, Bearer'

const challenges = new WeakMap<object, WptChallenge>()

/**
 * Marks an identity failure of a WIMSE-receiving service, so the 401 challenges with `WPT` (wpt §2.1)
 * rather than `Bearer`. Returns the error, for `throw`.
 */
export function withWptChallenge(err: unknown, challenge: WptChallenge): unknown {
  if (typeof err === 'object' && err !== null && !challenges.has(err)) challenges.set(err, challenge)
  return err
}

/** The WIMSE challenge a failure was marked with, if any. */
export function wptChallengeOf(err: unknown): WptChallenge | undefined {
  return typeof err === 'object' && err !== null ? challenges.get(err) : undefined
}
