import { newRequestId } from '../../internal/request-id.js'
import { IdentityError, IdentityMissingError, ConfigError } from '../../errors.js'
import { parseActorToken, parseBearer, peekSingleHeader, singleHeader, transactionIdHeader } from '../headers.js'
import { isPromise, type MaybePromise } from '../../internal/maybe-async.js'
import { checkRevoked, checkTokenUse } from './token-use.js'
import { mixTail, tokenKey } from './token-memo.js'
import { checkTimes } from './claims.js'
import { TokenPairVerifier, type Verified } from './token-pair.js'
import type { TrustBundle } from '../trust/trust-bundle.js'
import { VerificationCache } from './verification-cache.js'
import { kActorToken, kTxnToken, type VerifiedCaller } from '../caller.js'
import type { HeaderView } from '../headers.js'
import type { ActorRequirement, IdentityVerifierOptions, VerifierStats, VerifyCallOptions } from './types.js'
import { resolveVerifierSettings } from './verifier-settings.js'
import { stillTrusted, type VerifiedActorToken, type VerifiedWorkloadToken } from './verify-token.js'
import { readTxnTokenHeader, type VerifiedTxnToken } from './txn-token.js'
import { isWptAuthorization, WIT_HEADER, withWptChallenge } from '../wimse-wire.js'
import { PrincipalMemo } from './principal-memo.js'
import { WimseRequestVerifier, type WimseVerified } from './wimse-request.js'

/** Verifies incoming workload and actor tokens and builds the on-behalf-of principal. */
export interface IdentityVerifier {
  /**
   * Verifies the credentials of one request.
   *
   * @param headers - lower-case names, every value received (duplicates kept)
   * @param options - whether the route requires, forbids or accepts an actor
   * @throws IdentityMissingError (`token_missing`, `actor_required`), IdentityError (reason codes such
   *   as `aud_mismatch`, `token_expired`, `actor_binding_mismatch`), UnavailableError (`jwks_unavailable`)
   */
  verify(headers: HeaderView, options?: VerifyCallOptions): Promise<VerifiedCaller>
  /**
   * {@link IdentityVerifier.verify}, answered synchronously when it can be: a cached token pair, or
   * a fresh one whose keys are at hand. It throws where `verify` rejects. The guard pipeline uses it
   * to spare a promise (and its async hooks) per request.
   */
  verifyNow(headers: HeaderView, options?: VerifyCallOptions): VerifiedCaller | Promise<VerifiedCaller>
  /** Cache and JWKS statistics, for metrics. */
  stats(): VerifierStats
  /** The trust bundle in use. */
  readonly trust: TrustBundle
}

/** The replay counters of a verifier without one-time use. */
const NO_REPLAYS = Object.freeze({ replaysRefused: 0, replayStoreErrors: 0 })

/** A cache entry: a verification and the header values its tokens were read from. */
interface Cached {
  readonly verified: Verified
  /** The `authorization` value, compared in full on every hit. */
  readonly authorization: string
  /** The actor credential header value (actor token or Txn-Token), compared in full on every hit. */
  readonly actor: string | undefined
  /** Whether that value came in the Txn-Token header (compared on every hit too). */
  readonly txnToken: boolean
  /** The clock second whose time checks the tokens last passed (they are re-run once a second). */
  checkedSecond: number
}

/** Whether a token's time checks pass at `now` (seconds), exactly as a fresh verification runs them. */
function timesHold(token: VerifiedWorkloadToken | VerifiedActorToken | VerifiedTxnToken, now: number): boolean {
  try {
    checkTimes(token.claims, { ...token.times, now })
    return true
  } catch {
    return false
  }
}

/**
 * Whether a fresh verification would still accept this cached pair: every time rule (expiry, age,
 * lifetime) at this second, and each signing key still the one its store serves (a key removed
 * from the bundle, a rotated file or a refreshed JWKS ends the entry at once).
 */
function stillValid(entry: Cached, nowMs: number): boolean {
  const { workload, actor } = entry.verified
  const second = Math.floor(nowMs / 1000)
  if (second !== entry.checkedSecond) {
    if (!timesHold(workload, second) || (actor !== undefined && !timesHold(actor, second))) return false
    entry.checkedSecond = second
  }
  return stillTrusted(workload.key) && (actor === undefined || stillTrusted(actor.key))
}

/**
 * The cache key: a 30-bit hash of the ends of the two header values (signature bytes). A small
 * integer costs the Map nothing to hash, where a fresh string (every request brings new header
 * strings) costs more than the rest of a hit. Keys never decide anything: a hit compares both header
 * values in full, and two entries that share a key merely replace each other, which costs one
 * re-verification, as an eviction does (and any caller can force evictions by filling the cache).
 */
function cacheKey(authorization: string, actor: string | undefined, txnToken: boolean): number {
  const workload = tokenKey(authorization)
  // The separators keep "no actor", "an actor token" and "a Txn-Token" apart.
  return (actor === undefined ? workload : mixTail(workload ^ (txnToken ? 0x5b : 0x2e), actor)) & 0x3fffffff
}

/**
 * One request's caller: the verified fields, the transaction id and the hidden actor token. A class
 * so each request's caller is one allocation of a fixed shape; the token sits in a private field,
 * reachable only through the `kActorToken` getter on the prototype (never an own property, so
 * spreading, `JSON.stringify`, `Object.keys` and loggers never see it).
 */
class CallerRecord implements VerifiedCaller {
  workload: VerifiedCaller['workload']
  actor: VerifiedCaller['actor']
  delegation: VerifiedCaller['delegation']
  tokenDigests: VerifiedCaller['tokenDigests']
  principal: VerifiedCaller['principal']
  expiresAt: number
  transactionId: string
  txn: VerifiedCaller['txn']
  readonly #actorToken: string | undefined
  readonly #txnToken: string | undefined

  constructor(verified: Pick<Verified, 'caller' | 'txnToken' | 'actorToken'>, transactionId: string) {
    const c = verified.caller
    this.workload = c.workload
    this.actor = c.actor
    this.delegation = c.delegation
    this.tokenDigests = c.tokenDigests
    this.principal = c.principal
    this.expiresAt = c.expiresAt
    this.transactionId = transactionId
    this.txn = c.txn
    this.#actorToken = verified.txnToken ? undefined : verified.actorToken
    this.#txnToken = verified.txnToken ? verified.actorToken : undefined
  }

  get [kActorToken](): string | undefined {
    // A copy made from this prototype has no token of its own: it reads as none, never throws.
    return #actorToken in this ? this.#actorToken : undefined
  }

  get [kTxnToken](): string | undefined {
    return #txnToken in this ? this.#txnToken : undefined
  }
}

/**
 * Creates a verifier for one service. Options are validated once; configuration mistakes throw
 * `ConfigError` naming the option.
 *
 * @example
 * ```ts
 * const verifier = createIdentityVerifier({
 *   audience: 'spiffe://example.org/ns/hr/sa/review-service',
 *   trust: { workloads: [{ issuer: employeeServiceId, keys: { jwksUrl } }], actors: [{ issuer, keys, audiences: ['meshguard'] }] },
 * })
 * const caller = await verifier.verify(headers, { actor: 'required' })
 * engine.checkResources({ principal: caller.principal, resources })
 * ```
 */
export function createIdentityVerifier(options: IdentityVerifierOptions): IdentityVerifier {
  const settings = resolveVerifierSettings(options)
  const { trust, actorHeader, transactionHeader, txnTokenHeader, maxHeaderBytes, clock, replay, revocation } = settings
  const pairs = new TokenPairVerifier(settings)
  const { wimse } = settings
  const wimseSide = wimse === undefined ? undefined : new WimseRequestVerifier(settings, wimse, new PrincipalMemo())
  const cache = new VerificationCache<Cached>(settings.cacheSize)
  // Concurrent first requests with the same tokens share one verification.
  const inflight = new Map<number, { workloadToken: string; actorToken: string | undefined; txnToken: boolean; result: Promise<Verified> }>()
  let cacheHits = 0
  let cacheMisses = 0

  function checkRequirement(requirement: ActorRequirement, hasActor: boolean): void {
    if (requirement === 'required' && !hasActor) {
      throw new IdentityMissingError('this route acts on behalf of a user: actor token required', { reason: 'actor_required', tokenKind: 'actor' })
    }
    if (requirement === 'forbidden' && hasActor) {
      throw new IdentityError('actor_forbidden', 'this route does not accept an actor token', { tokenKind: 'actor' })
    }
  }

  function requirementOf(callOptions: VerifyCallOptions): ActorRequirement {
    const requirement = callOptions.actor ?? 'optional'
    if (requirement !== 'required' && requirement !== 'forbidden' && (requirement as string) !== 'optional') {
      throw new ConfigError('route.actor', 'must be "required", "forbidden" or "optional"')
    }
    return requirement
  }

  function verifyNow(headers: HeaderView, callOptions: VerifyCallOptions = {}): MaybePromise<VerifiedCaller> {
    if (typeof headers !== 'object' || (headers as unknown) === null) throw new IdentityMissingError('no credentials')
    const requirement = requirementOf(callOptions)
    return verifyBearer(headers, singleHeader(headers, 'authorization', 'workload', maxHeaderBytes), callOptions, requirement)
  }

  /**
   * A WIMSE-receiving service's entry: a request with `Authorization: WPT` or a WIT goes the WPT way
   * and never falls back to `Bearer`; a `Bearer` request is served only while both profiles are
   * accepted. Every 401 of a WPT request challenges with `WPT`.
   */
  function verifyWithWimse(headers: HeaderView, callOptions: VerifyCallOptions = {}): MaybePromise<VerifiedCaller> {
    const acceptBearer = (wimse as NonNullable<typeof wimse>).acceptBearer
    let challenge: 'WPT' | 'WPT, Bearer' = acceptBearer ? 'WPT, Bearer' : 'WPT'
    let bearer: { authorization: string; requirement: ActorRequirement }
    try {
      if (typeof headers !== 'object' || (headers as unknown) === null) throw new IdentityMissingError('no credentials')
      const requirement = requirementOf(callOptions)
      const authorization = singleHeader(headers, 'authorization', 'workload', maxHeaderBytes)
      const wptRequest = authorization === undefined ? headers[WIT_HEADER] !== undefined : isWptAuthorization(authorization.trimStart())
      if (wptRequest || headers[WIT_HEADER] !== undefined) {
        challenge = 'WPT'
        const result = verifyWpt(headers, authorization, callOptions, requirement)
        return isPromise(result) ? result.then(undefined, (err: unknown) => { throw withWptChallenge(err, 'WPT') }) : result
      }
      if (authorization === undefined || authorization.trim() === '') throw new IdentityMissingError('workload proof required', { tokenKind: 'workload' })
      if (!acceptBearer) throw new IdentityError('wpt_required', 'this service accepts workload proof tokens only ("Authorization: WPT")', { tokenKind: 'workload' })
      bearer = { authorization, requirement }
    } catch (err) {
      throw withWptChallenge(err, challenge)
    }
    // The self-signed profile, unchanged: its failures challenge with Bearer alone.
    return verifyBearer(headers, bearer.authorization, callOptions, bearer.requirement)
  }

  function verifyWpt(headers: HeaderView, authorization: string | undefined, callOptions: VerifyCallOptions, requirement: ActorRequirement): MaybePromise<VerifiedCaller> {
    const headerTxn = transactionIdHeader(headers, transactionHeader)
    const result = (wimseSide as WimseRequestVerifier).verify(headers, authorization, callOptions.target, clock())
    return isPromise(result)
      ? result.then((verified) => answerWpt(verified, headerTxn, callOptions.newTransactionId, requirement))
      : answerWpt(result, headerTxn, callOptions.newTransactionId, requirement)
  }

  /** The caller of a verified WIMSE request, once the route's actor rule and the transaction id agree. */
  function answerWpt(verified: WimseVerified, headerTxn: string | undefined, newTransactionId: string | undefined, requirement: ActorRequirement): MaybePromise<VerifiedCaller> {
    checkRequirement(requirement, requirement === 'required' ? verified.caller.actor !== undefined : verified.txnToken !== undefined)
    const tokenTxn = verified.caller.txn?.id
    if (headerTxn !== undefined && tokenTxn !== undefined && headerTxn !== tokenTxn) {
      throw new IdentityError('txn_mismatch', 'transaction id header differs from the token')
    }
    const caller = new CallerRecord(
      { caller: verified.caller, txnToken: verified.txnToken !== undefined, actorToken: verified.txnToken },
      tokenTxn ?? headerTxn ?? newTransactionId ?? newRequestId(),
    )
    if (revocation === undefined) return caller
    // Both credentials, as on the self-signed path: the WIT, then the Txn-Token that carries the user.
    const usable = checkRevoked(revocation, verified.wit.claims, verified.txnClaims)
    return isPromise(usable) ? usable.then(() => caller) : caller
  }

  function verifyBearer(headers: HeaderView, authorization: string | undefined, callOptions: VerifyCallOptions, requirement: ActorRequirement): MaybePromise<VerifiedCaller> {
    // Every header is read and checked in the same order as without a cache. Reading a token is a
    // pure function of its header value, so a cached entry whose value is equal supplies the token.
    const peekedActor = peekSingleHeader(headers, actorHeader)
    const peekedTxn = peekedActor === undefined ? headers[txnTokenHeader] !== undefined : false
    const key =
      authorization === undefined
        ? undefined
        : cacheKey(authorization, peekedTxn ? peekSingleHeader(headers, txnTokenHeader) : peekedActor, peekedTxn)
    const cached = key === undefined ? undefined : cache.get(key)
    // Each header value is compared with the cached one once (tokens run to ~1 KB).
    const sameAuthorization = cached !== undefined && cached.authorization === authorization
    const workloadToken = sameAuthorization ? cached.verified.workloadToken : parseBearer(authorization)
    const accessValue = singleHeader(headers, actorHeader, 'actor', maxHeaderBytes)
    const txnValue = readTxnTokenHeader(headers, txnTokenHeader, maxHeaderBytes)
    if (accessValue !== undefined && txnValue !== undefined) {
      throw new IdentityError('txn_token_conflict', 'an actor token and a Txn-Token were both sent', { tokenKind: 'actor' })
    }
    const isTxn = txnValue !== undefined
    const actorValue = isTxn ? txnValue : accessValue
    const sameActor = cached !== undefined && cached.actor === actorValue && cached.txnToken === isTxn
    const actorToken = sameActor ? cached.verified.actorToken : parseActorToken(actorValue)
    const headerTxn = transactionIdHeader(headers, transactionHeader)
    // A token implies the header and its key; TypeScript needs all three spelled out.
    if (workloadToken === undefined || authorization === undefined || key === undefined) {
      throw new IdentityMissingError('workload token required', { tokenKind: 'workload' })
    }
    checkRequirement(requirement, actorToken !== undefined)

    const now = clock()
    // A hit needs both header values equal in full (so both tokens are equal too).
    let verified = sameAuthorization && sameActor ? cached.verified : undefined
    // A cached result is only used strictly before the earliest `exp` (the cache never extends a
    // token), and only while a fresh verification would accept it too.
    if (verified !== undefined && (now >= verified.caller.expiresAt || !stillValid(cached as Cached, now))) {
      cache.delete(key)
      verified = undefined
    }
    if (verified === undefined) {
      cacheMisses++
      // Share a running verification only with a request carrying the very same tokens.
      const running = inflight.get(key)
      const shared = running !== undefined && running.workloadToken === workloadToken && running.actorToken === actorToken && running.txnToken === isTxn
      const result = shared ? running.result : pairs.verify(workloadToken, actorToken, now, isTxn)
      if (isPromise(result)) {
        if (running === undefined) {
          inflight.set(key, { workloadToken, actorToken, txnToken: isTxn, result })
          void result.then(
            () => inflight.delete(key),
            () => inflight.delete(key),
          )
        }
        return result.then((fresh) => {
          cache.set(key, { verified: fresh, authorization, actor: actorValue, txnToken: isTxn, checkedSecond: Math.floor(now / 1000) })
          return answer(fresh, headerTxn, callOptions.newTransactionId, requirement)
        })
      }
      cache.set(key, { verified: result, authorization, actor: actorValue, txnToken: isTxn, checkedSecond: Math.floor(now / 1000) })
      return answer(result, headerTxn, callOptions.newTransactionId, requirement)
    }
    cacheHits++
    return answer(verified, headerTxn, callOptions.newTransactionId, requirement)
  }

  /**
   * The caller of one request, once the header's transaction id agrees with the token's and the
   * tokens may be used (not revoked; in one-time-use mode, the workload token's first use here).
   */
  function answer(verified: Verified, headerTxn: string | undefined, newTransactionId: string | undefined, requirement: ActorRequirement): MaybePromise<VerifiedCaller> {
    // A Txn-Token of a workload's own transaction carries no user: it cannot meet `actor: 'required'`.
    if (requirement === 'required' && verified.txnToken && verified.caller.actor === undefined) checkRequirement(requirement, false)
    if (headerTxn !== undefined && verified.tokenTxn !== undefined && headerTxn !== verified.tokenTxn) {
      throw new IdentityError('txn_mismatch', 'transaction id header differs from the token')
    }
    const caller = new CallerRecord(verified, verified.tokenTxn ?? headerTxn ?? newTransactionId ?? newRequestId())
    if (replay === undefined && revocation === undefined) return caller
    const usable = checkTokenUse(verified, settings, clock())
    return isPromise(usable) ? usable.then(() => caller) : caller
  }

  return {
    // Rejections, never throws: the promise form is the public contract.
    verify: async (headers, callOptions) => (wimse === undefined ? verifyNow : verifyWithWimse)(headers, callOptions),
    verifyNow: wimse === undefined ? verifyNow : verifyWithWimse,
    trust,
    stats: () => ({
      ...trust.counters(),
      ...(replay?.counters ?? NO_REPLAYS),
      revokedRefused: revocation?.revokedRefused ?? 0,
      cacheHits,
      cacheMisses,
      cacheSize: cache.size,
      witCacheHits: wimseSide?.witCache.hits ?? 0,
      witCacheMisses: wimseSide?.witCache.misses ?? 0,
      witCacheSize: wimseSide?.witCache.size ?? 0,
    }),
  }
}
