import { IdentityError, MeshguardError } from '../../errors.js'
import { andThen, type MaybePromise } from '../../internal/maybe-async.js'
import { checkActorAudience, checkTimes, checkWorkloadAudience, type TimeRules } from './claims.js'
import { parseCompactToken, type UnverifiedToken } from './compact.js'
import { ASYMMETRIC_ALGORITHMS } from '../jws-algorithms.js'
import { verifyJwsSignature } from './jws-sync-verify.js'
import type { KeyEntry, KeyStore } from '../trust/types.js'
import { deepFreeze } from '../../internal/deep-freeze.js'
import { parseSpiffeId, type SpiffeId } from '../spiffe.js'
import { TokenMemo } from './token-memo.js'
import type { ResolvedActorIssuer, ResolvedWorkloadAnchor, TrustBundle } from '../trust/trust-bundle.js'
import { normalizeTyp } from '../wire.js'

/** Limits shared by both token slots. */
export interface SlotLimits {
  maxTokenBytes: number
  tolerance: number
  /** Seconds clock. */
  now: number
  /** Check signatures that are not remembered on the libuv threadpool. */
  offload: boolean
}

/** The trusted key a signature was checked with, and where it came from. */
export interface UsedKey {
  readonly store: KeyStore
  readonly kid: string
  readonly entry: KeyEntry
}

/** Whether the key is still the one its store would answer with now (not removed, not replaced). */
export function stillTrusted(key: UsedKey): boolean {
  return key.store.currentKey(key.kid) === key.entry
}

/** A verified workload token. */
export interface VerifiedWorkloadToken {
  id: SpiffeId
  claims: Readonly<Record<string, unknown>>
  anchor: ResolvedWorkloadAnchor
  exp: number
  key: UsedKey
  /** The time rules it passed, to check again later. */
  times: TimeRules
}

/** A verified actor token. */
export interface VerifiedActorToken {
  claims: Readonly<Record<string, unknown>>
  issuer: ResolvedActorIssuer
  exp: number
  key: UsedKey
  /** The time rules it passed, to check again later. */
  times: TimeRules
}

export function headerAlg(header: Readonly<Record<string, unknown>>): string {
  const { alg } = header
  // Exact case: "none", "noNE", "HS256" and friends all stop here, before any key is touched.
  if (typeof alg !== 'string' || !ASYMMETRIC_ALGORITHMS.has(alg)) {
    throw new IdentityError('alg_not_allowed', 'token algorithm is not allowed')
  }
  if (header['crit'] !== undefined) throw new IdentityError('crit_unsupported', 'token has critical header parameters')
  return alg
}

export function headerKid(header: Readonly<Record<string, unknown>>): string {
  const { kid } = header
  if (typeof kid !== 'string' || kid.length === 0 || kid.length > 256) {
    throw new IdentityError('kid_missing', 'token header has no usable "kid"')
  }
  return kid
}

export function checkTyp(header: Readonly<Record<string, unknown>>, accepted: ReadonlySet<string>, optional: boolean): void {
  const { typ } = header
  if (typ === undefined && optional) return
  if (typeof typ !== 'string' || !accepted.has(normalizeTyp(typ))) {
    throw new IdentityError('typ_mismatch', 'token type is not accepted in this slot')
  }
}

/** Verifies the signature with a key from the bundle (header `jwk`, `jku`, `x5u`, `x5c` are never used). */
export function checkSignature(
  token: string,
  entry: KeyEntry,
  alg: string,
  allowed: ReadonlySet<string>,
  options: { readonly remember: boolean; readonly offload: boolean },
): MaybePromise<void> {
  if (!allowed.has(alg) || !entry.algorithms.has(alg)) {
    throw new IdentityError('alg_not_allowed', 'token algorithm is not allowed for this key')
  }
  // Synchronous node:crypto check on the main thread (jose's WebCrypto path costs a threadpool hop).
  const ready = entry.keyNow?.(alg)
  if (ready !== undefined) return verifyJwsSignature(token, ready, alg, options)
  return entry.key(alg).then(
    (key) => verifyJwsSignature(token, key, alg, options),
    (err: unknown) => {
      throw new IdentityError('unknown_key', 'trusted key cannot be used for this algorithm', { cause: err })
    },
  )
}

interface FoundKey {
  readonly entry: KeyEntry
  /** Which of the stores had it. */
  readonly index: number
}

const isUnknownKey = (err: unknown): boolean => err instanceof MeshguardError && err.reason === 'unknown_key'

/** The first store (from `from` on) that has the kid; answers now when the stores do. */
export function findKey(stores: readonly KeyStore[], kid: string, from = 0, notFound?: unknown): MaybePromise<FoundKey> {
  for (let index = from; index < stores.length; index++) {
    let found: Promise<KeyEntry> | KeyEntry
    try {
      found = (stores[index] as KeyStore).getKey(kid)
    } catch (err) {
      if (!isUnknownKey(err)) throw err
      notFound = err
      continue
    }
    if (!(found instanceof Promise)) return { entry: found, index }
    return found.then(
      (entry) => ({ entry, index }),
      (err: unknown) => {
        if (!isUnknownKey(err)) throw err
        return findKey(stores, kid, index + 1, err)
      },
    )
  }
  // eslint-disable-next-line @typescript-eslint/only-throw-error -- a store's own unknown-key error, as it was
  throw notFound ?? new IdentityError('unknown_key', 'no trusted key matches the token kid')
}

/**
 * Verifies a workload token: grammar and size, alg allowlist, issuer and key from the bundle only,
 * explicit `typ`, signature, times and lifetime, `sub` as a SPIFFE ID the key is bound to, and the
 * per-hop audience.
 */
export function verifyWorkloadToken(
  token: string,
  bundle: TrustBundle,
  limits: SlotLimits & { audience: ReadonlySet<string>; audienceMode: 'exact' | 'contains'; maxLifetime: number },
): MaybePromise<VerifiedWorkloadToken> {
  const { header, payload } = parseCompactToken(token, limits.maxTokenBytes)
  const alg = headerAlg(header)
  const iss = payload['iss']
  if (iss !== undefined && typeof iss !== 'string') throw new IdentityError('claim_invalid', 'token "iss" is not a string')
  const anchors = bundle.workloadAnchors(iss)
  if (anchors.length === 0) throw new IdentityError('unknown_issuer', 'token issuer is not trusted for workloads')
  // Cheap header checks before any key lookup, so a mistyped token never triggers a JWKS fetch.
  if (!anchors.some((a) => a.algorithms.has(alg))) throw new IdentityError('alg_not_allowed', 'token algorithm is not allowed')
  const [only] = anchors
  if (anchors.length === 1 && only !== undefined) checkTyp(header, only.typ, only.typOptional)
  const kid = headerKid(header)
  const stores = anchors.length === 1 && only !== undefined ? [only.keys] : anchors.map((a) => a.keys)
  return andThen(findKey(stores, kid), ({ entry, index }) => {
    const anchor = anchors[index] as ResolvedWorkloadAnchor
    checkTyp(header, anchor.typ, anchor.typOptional)
    // Workload tokens are minted per hop and the verifier caches repeats: no signature memo for them.
    return andThen(checkSignature(token, entry, alg, anchor.algorithms, { remember: false, offload: limits.offload }), () => {
      const times: TimeRules = { now: limits.now, tolerance: limits.tolerance, maxLifetime: limits.maxLifetime, requireIat: false }
      const exp = checkTimes(payload, times)
      const id = parseSpiffeId(payload['sub'])
      // The key-identity binding: this anchor's keys may only vouch for the identities it lists.
      if (!anchor.mayIdentify(id)) throw new IdentityError('key_not_bound', 'token key may not sign for this identity')
      checkWorkloadAudience(payload, limits.audience, limits.audienceMode)
      return { id, claims: payload, anchor, exp, key: { store: stores[index] as KeyStore, kid, entry }, times }
    })
  })
}

/** Actor tokens whose parse is remembered. */
const PARSED_ACTOR_TOKENS = 512

/**
 * Deep-frozen parses of actor tokens whose signature verified, by exact token. One user session
 * token travels with every new workload token, so on the fresh-workload-token path it would be
 * base64url-decoded and JSON-parsed again on every request. Parsing is a pure function of the token,
 * only signed tokens get in, and every check below (size, issuer, `typ`, alg, key, signature, times,
 * `sub`, audience) still runs on every request.
 */
const parsedActorTokens = new TokenMemo<UnverifiedToken>(PARSED_ACTOR_TOKENS)

function parseActorToken(token: string, maxTokenBytes: number): UnverifiedToken {
  // The size limit is per verifier, so it is checked even when the parse is remembered.
  if (token.length > maxTokenBytes) throw new IdentityError('token_too_large', `token exceeds ${maxTokenBytes} bytes`)
  return parsedActorTokens.get(token) ?? parseCompactToken(token, maxTokenBytes)
}

function rememberActorParse(token: string, parsed: UnverifiedToken): void {
  if (parsedActorTokens.get(token) === undefined) parsedActorTokens.set(token, deepFreeze(parsed))
}

/** Verifies an actor token against the trusted user/agent issuers: its own `typ`, audiences and ages. */
export function verifyActorToken(token: string, bundle: TrustBundle, limits: SlotLimits): MaybePromise<VerifiedActorToken> {
  const parsed = parseActorToken(token, limits.maxTokenBytes)
  const { header, payload } = parsed
  const alg = headerAlg(header)
  const iss = payload['iss']
  const issuer = typeof iss === 'string' ? bundle.actorIssuer(iss) : undefined
  if (issuer === undefined) throw new IdentityError('unknown_issuer', 'actor token issuer is not trusted')
  checkTyp(header, issuer.typ, false)
  if (!issuer.algorithms.has(alg)) throw new IdentityError('alg_not_allowed', 'token algorithm is not allowed')
  const kid = headerKid(header)
  return andThen(findKey([issuer.keys], kid), ({ entry }) =>
    andThen(checkSignature(token, entry, alg, issuer.algorithms, { remember: true, offload: limits.offload }), () => {
      rememberActorParse(token, parsed)
      const times: TimeRules = {
        now: limits.now,
        tolerance: limits.tolerance,
        maxLifetime: issuer.maxLifetime,
        maxTokenAge: issuer.maxTokenAge,
        requireIat: true,
      }
      const exp = checkTimes(payload, times)
      const sub = payload['sub']
      if (typeof sub !== 'string' || sub.length === 0 || sub.length > 512) {
        throw new IdentityError('claim_missing', 'actor token has no valid "sub"')
      }
      checkActorAudience(payload, issuer.audiences)
      return { claims: payload, issuer, exp, key: { store: issuer.keys, kid, entry }, times }
    }),
  )
}
