/**
 * The Workload Proof Token (wpt-02 §2) as a receiver checks it against an already verified WIT, in
 * the order of the research note §3: `typ`, `alg` = the WIT's `cnf.jwk.alg`, the signature with the
 * WIT's key, the time window, `aud`, then the bindings (`wth`, `tth`, `oth`).
 */
import { IdentityError } from '../../errors.js'
import { andThen, type MaybePromise } from '../../internal/maybe-async.js'
import { sha256Base64url } from '../digest.js'
import { normalizeTyp } from '../wire.js'
import { WPT_TYP } from '../wimse-wire.js'
import { parseCompactToken } from './compact.js'
import { verifyJwsSignature } from './jws-sync-verify.js'
import type { VerifiedWit } from './wit.js'

/** A verified WPT: what the replay check and the caller need. */
export interface VerifiedWpt {
  readonly jti: string
  /** `exp`, seconds. */
  readonly exp: number
}

/** Where a WPT must point and what it must bind, for one request. */
export interface WptExpectations {
  readonly maxTokenBytes: number
  /** Seconds clock. */
  readonly now: number
  readonly skew: number
  /** Longest `exp - now` accepted, seconds. */
  readonly maxTtl: number
  readonly offload: boolean
  /** Whether `aud` (query and fragment already cut) names this request's target. */
  readonly audienceMatches: (aud: string) => boolean
  /** base64url(SHA-256(Txn-Token)) when one came with the request. */
  readonly txnTokenDigest: string | undefined
  /** Context-token headers the receiver understands (lower-case) → the value received, if any. */
  readonly otherTokens: ReadonlyMap<string, string | undefined>
}

const invalid = (message: string, cause?: unknown): IdentityError => new IdentityError('wpt_invalid', message, { tokenKind: 'workload', cause })
const unbound = (message: string): IdentityError => new IdentityError('wpt_unbound', message, { tokenKind: 'workload' })

/** `aud` without query or fragment (wpt §2: they are ignored in the comparison). */
export function audienceWithoutQuery(aud: string): string {
  const cut = aud.search(/[?#]/)
  return cut === -1 ? aud : aud.slice(0, cut)
}

/**
 * Verifies one WPT.
 *
 * @throws IdentityError `wpt_invalid`, `wpt_expired`, `wpt_aud`, `wpt_unbound`
 */
export function verifyWpt(wpt: string, wit: VerifiedWit, expect: WptExpectations): MaybePromise<VerifiedWpt> {
  let parsed: ReturnType<typeof parseCompactToken>
  try {
    parsed = parseCompactToken(wpt, expect.maxTokenBytes)
  } catch (err) {
    throw invalid('the WPT is not a compact JWS within the size limit', err)
  }
  const { header, payload } = parsed
  const { typ, alg } = header
  if (typeof typ !== 'string' || normalizeTyp(typ) !== WPT_TYP) throw invalid('WPT "typ" is not wpt+jwt')
  if (header['crit'] !== undefined) throw invalid('WPT has critical header parameters')
  // String equality with the WIT's cnf.jwk.alg: the proof algorithm is the issuer's choice, not the caller's.
  if (alg !== wit.proofAlg) throw invalid('WPT "alg" is not the WIT "cnf.jwk.alg"')
  let signed: MaybePromise<void>
  try {
    signed = verifyJwsSignature(wpt, wit.proofKey, alg, { remember: false, offload: expect.offload })
  } catch (err) {
    throw invalid('the WPT signature does not verify with the WIT key', err)
  }
  const checked = andThen(signed, () => checkClaims(payload, wit, expect))
  if (!(checked instanceof Promise)) return checked
  return checked.then(undefined, (err: unknown) => {
    throw err instanceof IdentityError && err.reason === 'signature_invalid' ? invalid('the WPT signature does not verify with the WIT key', err) : err
  })
}

function checkClaims(payload: Readonly<Record<string, unknown>>, wit: VerifiedWit, expect: WptExpectations): VerifiedWpt {
  const { exp, jti, aud, wth, tth, oth } = payload
  if (typeof exp !== 'number' || !Number.isFinite(exp)) throw new IdentityError('wpt_expired', 'WPT has no numeric "exp"', { tokenKind: 'workload' })
  if (exp <= expect.now - expect.skew) throw new IdentityError('wpt_expired', 'the WPT has expired', { tokenKind: 'workload' })
  if (exp > expect.now + expect.maxTtl + expect.skew) throw invalid('WPT "exp" lies further ahead than the longest proof lifetime')
  if (typeof jti !== 'string' || jti.length === 0 || jti.length > 256) throw invalid('WPT has no usable "jti"')
  if (typeof aud !== 'string' || !expect.audienceMatches(audienceWithoutQuery(aud))) {
    throw new IdentityError('wpt_aud', 'the WPT was made for another target', { tokenKind: 'workload' })
  }
  if (wth !== wit.digest) throw unbound('WPT "wth" is not the hash of the WIT sent')
  if (expect.txnTokenDigest === undefined) {
    if (tth !== undefined) throw unbound('WPT is bound ("tth") to a Txn-Token that was not sent')
  } else if (tth !== expect.txnTokenDigest) {
    throw unbound(tth === undefined ? 'a Txn-Token came without "tth" in the WPT' : 'WPT "tth" is not the hash of the Txn-Token sent')
  }
  checkOtherTokens(oth, expect.otherTokens)
  return { jti, exp }
}

/**
 * `oth` (wpt §2): every entry names a header this receiver understands and hashes its value; every
 * such header that came is covered. Uncovered context tokens must not drive authorization.
 */
function checkOtherTokens(oth: unknown, known: ReadonlyMap<string, string | undefined>): void {
  if (oth === undefined && known.size === 0) return
  if (oth !== undefined && (typeof oth !== 'object' || oth === null || Array.isArray(oth))) throw unbound('WPT "oth" is not an object')
  const entries = (oth ?? {}) as Record<string, unknown>
  for (const name of Object.keys(entries)) {
    if (!known.has(name)) throw unbound('WPT "oth" names a token this service does not understand')
    const value = known.get(name)
    if (value === undefined || entries[name] !== sha256Base64url(value.trim())) throw unbound('WPT "oth" does not match the token sent')
  }
  for (const [name, value] of known) {
    if (value !== undefined && !Object.hasOwn(entries, name)) throw unbound('a context token came that the WPT does not cover ("oth")')
  }
}
