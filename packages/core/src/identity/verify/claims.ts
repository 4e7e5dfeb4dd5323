import { IdentityError } from '../../errors.js'

/** Time rules for one token slot, in seconds. */
export interface TimeRules {
  now: number
  tolerance: number
  maxLifetime: number
  /** Reject tokens issued longer ago than this (requires `iat`). */
  maxTokenAge?: number | undefined
  requireIat: boolean
}

function numericDate(payload: Readonly<Record<string, unknown>>, claim: string, required: boolean): number | undefined {
  const value = payload[claim]
  if (value === undefined) {
    if (required) throw new IdentityError('claim_missing', `token has no "${claim}" claim`)
    return undefined
  }
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    throw new IdentityError('claim_invalid', `token "${claim}" is not a NumericDate`)
  }
  return value
}

/**
 * Checks `exp` (required), `nbf`, `iat`, the maximum lifetime and the maximum age, with a bounded
 * clock tolerance. A token without `iat` cannot claim a long lifetime either: `exp` may lie at most
 * `maxLifetime` ahead of now.
 *
 * @returns the token's `exp` (seconds)
 */
export function checkTimes(payload: Readonly<Record<string, unknown>>, rules: TimeRules): number {
  const { now, tolerance, maxLifetime } = rules
  const exp = numericDate(payload, 'exp', true) as number
  const nbf = numericDate(payload, 'nbf', false)
  const iat = numericDate(payload, 'iat', rules.requireIat || rules.maxTokenAge !== undefined)
  if (exp <= now - tolerance) throw new IdentityError('token_expired', 'token has expired')
  if (nbf !== undefined && nbf > now + tolerance) throw new IdentityError('token_not_yet_valid', 'token is not yet valid')
  if (iat !== undefined && iat > now + tolerance) throw new IdentityError('iat_in_future', 'token was issued in the future')
  if (exp - (iat ?? now) > maxLifetime || exp - now > maxLifetime + tolerance) {
    throw new IdentityError('lifetime_too_long', 'token lifetime exceeds the allowed maximum')
  }
  if (rules.maxTokenAge !== undefined && iat !== undefined && now - iat > rules.maxTokenAge + tolerance) {
    throw new IdentityError('token_too_old', 'token was issued too long ago')
  }
  return exp
}

function audienceList(payload: Readonly<Record<string, unknown>>): string[] {
  const aud = payload['aud']
  if (aud === undefined) throw new IdentityError('claim_missing', 'token has no "aud" claim')
  if (typeof aud === 'string') return [aud]
  if (Array.isArray(aud) && aud.length > 0 && aud.every((a) => typeof a === 'string')) return aud
  throw new IdentityError('claim_invalid', 'token "aud" is not a string or a list of strings')
}

/**
 * Per-hop audience check. `exact`: `aud` names only this service (a token minted for several
 * services could be replayed at each of them). `contains`: this service is among the audiences.
 */
export function checkWorkloadAudience(
  payload: Readonly<Record<string, unknown>>,
  ours: ReadonlySet<string>,
  mode: 'exact' | 'contains',
): void {
  const aud = audienceList(payload)
  const mine = aud.some((a) => ours.has(a))
  if (!mine) throw new IdentityError('aud_mismatch', 'token was not minted for this service')
  if (mode === 'exact' && aud.length !== 1) {
    throw new IdentityError('multi_audience', 'token names more than one audience')
  }
}

/** Actor tokens must name one of the configured actor audiences. */
export function checkActorAudience(payload: Readonly<Record<string, unknown>>, accepted: ReadonlySet<string>): void {
  if (!audienceList(payload).some((a) => accepted.has(a))) {
    throw new IdentityError('aud_mismatch', 'actor token audience is not accepted here')
  }
}
