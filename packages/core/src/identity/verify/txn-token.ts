/**
 * Transaction Tokens (draft-ietf-oauth-transaction-tokens-10): the receiver's verification of one
 * Txn-Token, signed by the trust domain's Txn-Token Service (TTS). The checks are the draft's
 * (signature by a TTS key, `aud` = this trust domain, not expired) plus meshguard's: explicit `typ`,
 * alg allowlist, `kid` only from the TTS key set, every REQUIRED claim with its type, `iat` not in the
 * future, a maximum lifetime, `iss` when configured, a size cap.
 */
import { IdentityError, MeshguardError } from '../../errors.js'
import { andThen, type MaybePromise } from '../../internal/maybe-async.js'
import { deepFreeze } from '../../internal/deep-freeze.js'
import { checkTimes, type TimeRules } from './claims.js'
import { parseCompactToken, type UnverifiedToken } from './compact.js'
import { isTransactionId, singleHeader, type HeaderView } from '../headers.js'
import { TokenMemo } from './token-memo.js'
import type { ResolvedTxnTokenService } from '../trust/trust-bundle.js'
import { checkSignature, checkTyp, findKey, headerAlg, headerKid, type SlotLimits, type UsedKey } from './verify-token.js'

/** A verified Txn-Token: its frozen claims, the key it was signed with and the rules it passed. */
export interface VerifiedTxnToken {
  readonly claims: Readonly<Record<string, unknown>>
  readonly txn: string
  readonly exp: number
  readonly key: UsedKey
  readonly times: TimeRules
}

/**
 * How a generic token failure reads for a Txn-Token: one stable `txn_token_*` reason per check, so a
 * 401 says exactly which rule the Txn-Token broke.
 */
const TXN_REASONS: Readonly<Record<string, string>> = {
  token_too_large: 'txn_token_malformed',
  token_malformed: 'txn_token_malformed',
  alg_not_allowed: 'txn_token_alg',
  crit_unsupported: 'txn_token_alg',
  typ_mismatch: 'txn_token_typ',
  kid_missing: 'txn_token_untrusted',
  unknown_key: 'txn_token_untrusted',
  signature_invalid: 'txn_token_signature',
  claim_missing: 'txn_token_claims',
  claim_invalid: 'txn_token_claims',
  token_expired: 'txn_token_expired',
  token_not_yet_valid: 'txn_token_iat',
  iat_in_future: 'txn_token_iat',
  lifetime_too_long: 'txn_token_lifetime',
  // Any other check the generic token code runs.
  other: 'txn_token_invalid',
}

/** Marks an identity failure as one of the Txn-Token's (other failures, e.g. a JWKS outage, pass unchanged). */
export function asTxnTokenFailure(err: unknown): unknown {
  if (err instanceof IdentityError && !err.reason.startsWith('txn_token_')) {
    // Own entries only: a reason such as `constructor` must not read an inherited member.
    const reason = Object.hasOwn(TXN_REASONS, err.reason) ? (TXN_REASONS[err.reason] as string) : (TXN_REASONS['other'] as string)
    return new IdentityError(reason, `Txn-Token rejected: ${err.message}`, { tokenKind: 'actor', cause: err })
  }
  if (err instanceof MeshguardError && err.tokenKind === undefined) err.tokenKind = 'actor'
  return err
}

const MAX_CLAIM_STRING = 2048

function requiredString(payload: Readonly<Record<string, unknown>>, claim: string, max = MAX_CLAIM_STRING): string {
  const value = payload[claim]
  if (value === undefined) throw new IdentityError('txn_token_claims', `Txn-Token has no "${claim}" claim`)
  if (typeof value !== 'string' || value.length === 0 || value.length > max) {
    throw new IdentityError('txn_token_claims', `Txn-Token "${claim}" is not a non-empty string`)
  }
  return value
}

function optionalObject(payload: Readonly<Record<string, unknown>>, claim: string): void {
  const value = payload[claim]
  if (value !== undefined && (typeof value !== 'object' || value === null || Array.isArray(value))) {
    throw new IdentityError('txn_token_claims', `Txn-Token "${claim}" is not an object`)
  }
}

/** `aud` names this trust domain (a string, or a list holding it). */
function checkTrustDomain(payload: Readonly<Record<string, unknown>>, trustDomain: string): void {
  const aud = payload['aud']
  if (aud === undefined) throw new IdentityError('txn_token_claims', 'Txn-Token has no "aud" claim')
  const list = typeof aud === 'string' ? [aud] : aud
  if (!Array.isArray(list) || list.length === 0 || !list.every((a) => typeof a === 'string')) {
    throw new IdentityError('txn_token_claims', 'Txn-Token "aud" is not a string or a list of strings')
  }
  if (!list.includes(trustDomain)) throw new IdentityError('txn_token_aud', 'Txn-Token was issued for another trust domain')
}

/** The REQUIRED claims of draft §9.2 with their types (times are checked by `checkTimes`). */
function checkClaims(payload: Readonly<Record<string, unknown>>, service: ResolvedTxnTokenService): string {
  const txn = requiredString(payload, 'txn', 128)
  // The transaction id also travels in the workload token's `txn` and the transaction header.
  if (!isTransactionId(txn)) throw new IdentityError('txn_token_claims', 'Txn-Token "txn" is not a transaction id')
  requiredString(payload, 'sub', 512)
  requiredString(payload, 'scope')
  requiredString(payload, 'req_wl')
  optionalObject(payload, 'tctx')
  optionalObject(payload, 'rctx')
  const iss = payload['iss']
  if (service.issuer !== undefined && iss !== service.issuer) throw new IdentityError('txn_token_untrusted', 'Txn-Token issuer is not the trusted TTS')
  if (iss !== undefined && typeof iss !== 'string') throw new IdentityError('txn_token_claims', 'Txn-Token "iss" is not a string')
  return txn
}

/** Txn-Tokens whose parse is remembered: one token travels unchanged through every hop of a transaction. */
const PARSED_TXN_TOKENS = 512
const parsedTxnTokens = new TokenMemo<UnverifiedToken>(PARSED_TXN_TOKENS)

/**
 * Verifies one Txn-Token as a receiver. The parse of a token whose signature verified is remembered
 * (pure, frozen); every check after parsing runs every time.
 *
 * @throws IdentityError with a `txn_token_*` reason; UnavailableError `jwks_unavailable`
 */
export function verifyTxnToken(token: string, service: ResolvedTxnTokenService | undefined, limits: SlotLimits): MaybePromise<VerifiedTxnToken> {
  try {
    if (service === undefined) throw new IdentityError('txn_token_untrusted', 'no Txn-Token Service is trusted here')
    if (token.length > limits.maxTokenBytes) throw new IdentityError('txn_token_malformed', `Txn-Token exceeds ${limits.maxTokenBytes} bytes`)
    const remembered = parsedTxnTokens.get(token)
    const parsed = remembered ?? parseCompactToken(token, limits.maxTokenBytes)
    const { header, payload } = parsed
    const alg = headerAlg(header)
    checkTyp(header, service.typ, false)
    if (!service.algorithms.has(alg)) throw new IdentityError('txn_token_alg', 'Txn-Token algorithm is not allowed')
    const kid = headerKid(header)
    const verified = andThen(findKey([service.keys], kid), ({ entry }) =>
      andThen(checkSignature(token, entry, alg, service.algorithms, { remember: true, offload: limits.offload }), () => {
        if (remembered === undefined) parsedTxnTokens.set(token, deepFreeze(parsed))
        const times: TimeRules = { now: limits.now, tolerance: limits.tolerance, maxLifetime: service.maxLifetime, requireIat: true }
        const exp = checkTimes(payload, times)
        checkTrustDomain(payload, service.trustDomain)
        const txn = checkClaims(payload, service)
        const key: UsedKey = { store: service.keys, kid, entry }
        return { claims: parsedTxnTokens.get(token)?.payload ?? payload, txn, exp, key, times }
      }),
    )
    if (!(verified instanceof Promise)) return verified
    return verified.then(undefined, (err: unknown) => {
      throw asTxnTokenFailure(err)
    })
  } catch (err) {
    throw asTxnTokenFailure(err)
  }
}

/**
 * The Txn-Token of a request: exactly one header value, one compact JWS with no scheme (draft §12.1);
 * several values (or a comma-joined one) are `duplicate_header`, a blank one counts as none.
 */
export function readTxnTokenHeader(headers: HeaderView, name: string, maxBytes: number): string | undefined {
  const value = singleHeader(headers, name, 'actor', maxBytes)
  if (value === undefined) return undefined
  const trimmed = value.trim()
  return trimmed === '' ? undefined : trimmed
}
