import { newRequestId } from '../request-id.js'
import { ConfigError, IdentityError, IdentityMissingError } from '../errors.js'
import { checkActorBinding, checkActorIssuedTo } from './binding.js'
import { walkActChain } from './delegation.js'
import { sha256Base64url } from './digest.js'
import {
  DEFAULT_ACTOR_HEADER,
  DEFAULT_TRANSACTION_HEADER,
  isTransactionId,
  parseActorToken,
  parseBearer,
  peekSingleHeader,
  SINGLE_VALUE_HEADERS,
  singleHeader,
  transactionIdHeader,
} from './headers.js'
import { isPromise, type MaybePromise } from '../maybe-async.js'
import { aboutToken, andThenAbout } from './token-kind.js'
import { mixTail, TokenMemo, tokenKey } from './token-memo.js'
import type { Principal } from '../types.js'
import { deepFreeze } from '../deep-freeze.js'
import { authoritativeClaims, buildPrincipal, defaultActorMapping, defaultWorkloadMapping, runMapping } from './principal.js'
import { TrustBundle } from './trust-bundle.js'
import { VerificationCache } from './verification-cache.js'
import type {
  ActorRequirement,
  Delegation,
  HeaderView,
  IdentityVerifierOptions,
  VerifiedActor,
  VerifiedCaller,
  VerifierStats,
  VerifyCallOptions,
  WorkloadGrant,
  WorkloadMapping,
} from './types.js'
import { checkTimes } from './claims.js'
import {
  stillTrusted,
  verifyActorToken,
  verifyWorkloadToken,
  type SlotLimits,
  type VerifiedActorToken,
  type VerifiedWorkloadToken,
} from './verify-token.js'

/**
 * The raw actor token on a {@link VerifiedCaller}: a getter under this symbol on the caller's
 * prototype (the token itself is private), so the outbound client can forward it while
 * `JSON.stringify`, spreading and loggers never see it.
 */
export const kActorToken: unique symbol = Symbol.for('@meshguard/identity.actorToken')

/** The raw actor token a caller arrived with (to forward it unchanged), if any. */
export function actorTokenOf(caller: VerifiedCaller): string | undefined {
  return (caller as { [kActorToken]?: string })[kActorToken]
}

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

/** What a verification yields: everything except the per-request transaction id. */
interface Verified {
  readonly caller: Omit<VerifiedCaller, 'transactionId'>
  /** The `txn` the workload token carries, if any. */
  readonly tokenTxn: string | undefined
  readonly actorToken: string | undefined
  readonly workloadToken: string
  /** What a cached answer re-checks: the tokens' time rules and keys. */
  readonly workload: VerifiedWorkloadToken
  readonly actor: VerifiedActorToken | undefined
}

/** A cache entry: a verification and the header values its tokens were read from. */
interface Cached {
  readonly verified: Verified
  /** The `authorization` value, compared in full on every hit. */
  readonly authorization: string
  /** The actor header value, compared in full on every hit. */
  readonly actor: string | undefined
  /** The clock second whose time checks the tokens last passed (they are re-run once a second). */
  checkedSecond: number
}

/** Whether a token's time checks pass at `now` (seconds), exactly as a fresh verification runs them. */
function timesHold(token: VerifiedWorkloadToken | VerifiedActorToken, now: number): boolean {
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

/** An actor as verified and mapped, with its `act` chain. */
interface ActorSide {
  readonly actor: VerifiedActor
  readonly actorChain: string[]
}

const sameStrings = (a: readonly string[], b: readonly string[]): boolean => a.length === b.length && a.every((v, i) => v === b[i])

/**
 * Whether a principal's attributes are exactly the workload's own `attr` entries plus the `act` entry
 * of this actor. Own keys on both sides: an entry set to `undefined`, or one a (custom) mapping's
 * object inherits, must not pass for an entry of the same value that is absent.
 */
function sameEntries(principalAttr: Readonly<Record<string, unknown>> | undefined, workloadAttr: Readonly<Record<string, unknown>>, actor: VerifiedActor | undefined): boolean {
  if (principalAttr === undefined) return false
  let count = 0
  for (const key of Object.keys(workloadAttr)) {
    if (key === 'act') continue
    if (!Object.hasOwn(principalAttr, key) || principalAttr[key] !== workloadAttr[key]) return false
    count++
  }
  const expected = count + (actor === undefined ? 0 : 1)
  return Object.keys(principalAttr).length === expected
}

/** Principals of calls without an actor remembered per verifier (one per calling workload). */
const PRINCIPALS_WITHOUT_ACTOR = 512

/** Actor-token digests remembered per verifier. */
const ACTOR_DIGESTS = 512

/**
 * The cache key: a 30-bit hash of the ends of the two header values (signature bytes). A small
 * integer costs the Map nothing to hash, where a fresh string (every request brings new header
 * strings) costs more than the rest of a hit. Keys never decide anything: a hit compares both header
 * values in full, and two entries that share a key merely replace each other, which costs one
 * re-verification, as an eviction does (and any caller can force evictions by filling the cache).
 */
function cacheKey(authorization: string, actor: string | undefined): number {
  const workload = tokenKey(authorization)
  // The separator keeps "no actor" and "an actor" apart.
  return (actor === undefined ? workload : mixTail(workload ^ 0x2e, actor)) & 0x3fffffff
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
  readonly #actorToken: string | undefined

  constructor(verified: Verified, transactionId: string) {
    const c = verified.caller
    this.workload = c.workload
    this.actor = c.actor
    this.delegation = c.delegation
    this.tokenDigests = c.tokenDigests
    this.principal = c.principal
    this.expiresAt = c.expiresAt
    this.transactionId = transactionId
    this.#actorToken = verified.actorToken
  }

  get [kActorToken](): string | undefined {
    // A copy made from this prototype has no token of its own: it reads as none, never throws.
    return #actorToken in this ? this.#actorToken : undefined
  }
}

/** No chain: what a self-signed workload token proves about earlier hops. */
const NO_CHAIN: readonly string[] = Object.freeze([])

/** The claims an actor mapping may read: the actor's identity and what its issuer asserts. */
function actorClaims(claims: Readonly<Record<string, unknown>>, named: ReadonlySet<string>): Readonly<Record<string, unknown>> {
  const out = authoritativeClaims(claims, named)
  if (Object.hasOwn(claims, 'client_id')) out['client_id'] = claims['client_id']
  return out
}

/** A direct call with no actor: the delegation of most service-to-service calls. */
const NO_DELEGATION: Delegation = deepFreeze({ workloads: [], actorChain: [] })

/**
 * Direct calls (no earlier workloads) share one frozen delegation per actor chain, so the audit
 * record's hops, built once per delegation object, are not rebuilt for every new workload token
 * of the same session.
 */
const directDelegations = new WeakMap<readonly string[], Delegation>()

function delegationOf(workloads: string[], actorChain: string[]): Delegation {
  if (workloads.length > 0) return { workloads, actorChain }
  if (actorChain.length === 0) return NO_DELEGATION
  // Only a frozen chain (the default mapping's, shared per actor token) can be shared safely.
  if (!Object.isFrozen(actorChain)) return { workloads, actorChain }
  let delegation = directDelegations.get(actorChain)
  if (delegation === undefined) {
    delegation = Object.freeze({ workloads: Object.freeze([]) as unknown as string[], actorChain })
    directDelegations.set(actorChain, delegation)
  }
  return delegation
}

function positiveInteger(value: number | undefined, fallback: number, option: string, min = 1): number {
  if (value === undefined) return fallback
  if (!Number.isInteger(value) || value < min) throw new ConfigError(option, `must be an integer ≥ ${min}`)
  return value
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
  if (typeof options !== 'object' || options === null) throw new ConfigError('identity', 'must be an object')
  const audiences = typeof options.audience === 'string' ? [options.audience] : options.audience
  if (!Array.isArray(audiences) || audiences.length === 0 || audiences.some((a) => typeof a !== 'string' || a === '')) {
    throw new ConfigError('identity.audience', 'must name this service')
  }
  const audienceMode = options.audienceMode ?? 'exact'
  if (audienceMode !== 'exact' && audienceMode !== 'contains') {
    throw new ConfigError('identity.audienceMode', 'must be "exact" or "contains"')
  }
  const trust = options.trust instanceof TrustBundle ? options.trust : new TrustBundle(options.trust)
  const actorHeader = (options.actorHeader ?? DEFAULT_ACTOR_HEADER).toLowerCase()
  const transactionHeader = (options.transactionHeader ?? DEFAULT_TRANSACTION_HEADER).toLowerCase()
  if (actorHeader === 'authorization' || actorHeader === transactionHeader) {
    throw new ConfigError('identity.actorHeader', 'must be its own header')
  }
  // Node keeps one value of these (or joins cookies with "; "): a duplicate could slip through unseen.
  if (SINGLE_VALUE_HEADERS.has(actorHeader)) throw new ConfigError('identity.actorHeader', 'must be a header Node keeps every value of')
  if (SINGLE_VALUE_HEADERS.has(transactionHeader)) {
    throw new ConfigError('identity.transactionHeader', 'must be a header Node keeps every value of')
  }
  const tolerance = options.clockTolerance ?? 30
  if (!Number.isFinite(tolerance) || tolerance < 0 || tolerance > 60) {
    throw new ConfigError('identity.clockTolerance', 'must be between 0 and 60 seconds')
  }
  const maxWorkloadLifetime = options.maxWorkloadLifetime ?? 900
  if (!Number.isFinite(maxWorkloadLifetime) || maxWorkloadLifetime <= 0) {
    throw new ConfigError('identity.maxWorkloadLifetime', 'must be a positive number of seconds')
  }
  const maxTokenBytes = positiveInteger(options.maxTokenBytes, 8192, 'identity.maxTokenBytes', 256)
  // A header holds the token plus its scheme and some whitespace.
  const maxHeaderBytes = maxTokenBytes + 64
  const maxActDepth = positiveInteger(options.maxActDepth, 5, 'identity.maxActDepth', 0)
  const cacheSize = positiveInteger(options.cacheSize, 10_000, 'identity.cacheSize', 0)
  const signatureCheck = options.signatureCheck ?? 'threadpool'
  if (signatureCheck !== 'threadpool' && signatureCheck !== 'inline') {
    throw new ConfigError('identity.signatureCheck', 'must be "threadpool" or "inline"')
  }
  const offload = signatureCheck === 'threadpool'
  const clock = options.clock ?? Date.now
  const claims = options.claims ?? {}
  const mapWorkload = claims.mapWorkload ?? defaultWorkloadMapping(claims)
  const mapActor = claims.mapActor ?? defaultActorMapping(claims)
  const ourAudiences: ReadonlySet<string> = new Set(audiences)

  const cache = new VerificationCache<Cached>(cacheSize)
  // Concurrent first requests with the same tokens share one verification.
  const inflight = new Map<number, { workloadToken: string; actorToken: string | undefined; result: Promise<Verified> }>()
  // sha256 of actor tokens that verified: a session's token comes back with every new workload token.
  const actorDigests = new TokenMemo<string>(ACTOR_DIGESTS)
  // Mapped actors by the frozen claims they came from (default mapping only: a custom one may not be pure).
  const mapsActorPurely = claims.mapActor === undefined
  const actorSides = new WeakMap<object, ActorSide>()
  // The last principal built per actor, and per workload for calls without an actor.
  const accompanied = new WeakMap<VerifiedActor, Principal>()
  const unaccompanied = new Map<string, Principal>()
  let cacheHits = 0
  let cacheMisses = 0

  /** Verifies both tokens; answers now when the keys are at hand (no promise on the fresh-token path). */
  function verifyTokens(workloadToken: string, actorToken: string | undefined, nowMs: number): MaybePromise<Verified> {
    const base: SlotLimits = { maxTokenBytes, tolerance, now: Math.floor(nowMs / 1000), offload }
    let workload: MaybePromise<VerifiedWorkloadToken>
    try {
      workload = verifyWorkloadToken(workloadToken, trust, {
        ...base,
        audience: ourAudiences,
        audienceMode,
        maxLifetime: maxWorkloadLifetime,
      })
    } catch (err) {
      throw aboutToken(err, 'workload')
    }
    return andThenAbout('workload', workload, (verified) => afterWorkload(verified, workloadToken, actorToken, base))
  }

  function afterWorkload(
    workload: VerifiedWorkloadToken,
    workloadToken: string,
    actorToken: string | undefined,
    base: SlotLimits,
  ): MaybePromise<Verified> {
    // The checks run in a fixed order; each failure is marked with the token it is about.
    let workloadChain: string[]
    let tokenTxn: unknown
    try {
      workloadChain = walkActChain(workload.claims['act'], maxActDepth, true)
      tokenTxn = workload.claims['txn']
      if (tokenTxn !== undefined && !isTransactionId(tokenTxn)) throw new IdentityError('txn_invalid', 'token "txn" is malformed')
    } catch (err) {
      throw aboutToken(err, 'workload')
    }

    const digestKey = actorToken === undefined ? 0 : tokenKey(actorToken)
    const knownDigest = actorToken === undefined ? undefined : actorDigests.get(actorToken, digestKey)
    const actorDigest = actorToken === undefined ? undefined : (knownDigest ?? sha256Base64url(actorToken))
    try {
      // A missing or different actor token is what fails the workload token's `ath` binding.
      checkActorBinding(workload.claims['ath'], actorDigest, workload.anchor.requireActorBinding)
    } catch (err) {
      throw aboutToken(err, 'actor')
    }

    // Only what an authority asserted reaches the mapping: a workload's word about itself grants nothing.
    const { anchor } = workload
    const selfSigned = anchor.selfSigned || workload.claims['iss'] === workload.claims['sub']
    const grant: WorkloadGrant = { selfSigned, roles: anchor.roles, attributes: anchor.attributes }
    let mappedWorkload: WorkloadMapping
    try {
      const asserted = authoritativeClaims(workload.claims, selfSigned ? undefined : anchor.authoritativeClaims)
      mappedWorkload = runMapping(() => mapWorkload(asserted, workload.id.id, grant))
    } catch (err) {
      throw aboutToken(err, 'workload')
    }
    // The chain a workload writes into its own token is no evidence of where an actor token came from.
    const provenChain = !selfSigned && anchor.authoritativeClaims?.has('act') === true ? workloadChain : NO_CHAIN
    const parts = { workload, workloadToken, workloadChain, tokenTxn: tokenTxn as string | undefined, mappedWorkload, actorDigest, selfSigned }
    if (actorToken === undefined) return assemble(parts, undefined, [])
    let actor: MaybePromise<VerifiedActorToken>
    try {
      actor = verifyActorToken(actorToken, trust, base)
    } catch (err) {
      throw aboutToken(err, 'actor')
    }
    return andThenAbout('actor', actor, (verifiedActor) => {
      if (knownDigest === undefined) actorDigests.set(actorToken, actorDigest as string, digestKey)
      let side: ActorSide
      try {
        side = actorSideOf(verifiedActor)
        checkActorIssuedTo(side.actorChain, workload.id.id, provenChain)
      } catch (err) {
        throw aboutToken(err, 'actor')
      }
      return assemble(parts, { actor: side.actor, token: actorToken, verified: verifiedActor }, side.actorChain)
    })
  }

  /**
   * The actor and its `act` chain from a verified actor token. With the default mapping both are a
   * pure function of the token's (remembered, frozen) claims, so a session token that comes back
   * with every new workload token maps once; a custom mapping runs every time.
   */
  function actorSideOf(verifiedActor: VerifiedActorToken): ActorSide {
    const { claims } = verifiedActor
    const issuer = verifiedActor.issuer.issuer
    const known = mapsActorPurely ? actorSides.get(claims) : undefined
    if (known !== undefined && known.actor.issuer === issuer) return known
    const actorChain = walkActChain(claims['act'], maxActDepth, false)
    const { authoritativeClaims: named, actorIdPrefix } = verifiedActor.issuer
    // The default mapping reads only the claims the issuer is configured to assert about its actors.
    const mapped = runMapping(() => mapActor(mapsActorPurely && named !== undefined ? actorClaims(claims, named) : claims))
    if (typeof mapped.id !== 'string' || mapped.id === '' || (mapped.type !== 'user' && mapped.type !== 'agent')) {
      throw new IdentityError('claim_mapping_failed', 'actor mapping returned no id or type')
    }
    // `sub` is unique per issuer only: with several issuers, the id says whose user it is.
    const id = actorIdPrefix + mapped.id
    const actor: VerifiedActor = { id, type: mapped.type, roles: mapped.roles, attr: mapped.attr, issuer, claims }
    const side: ActorSide = deepFreeze({ actor, actorChain })
    if (mapsActorPurely && Object.isFrozen(claims)) actorSides.set(claims, side)
    return side
  }

  /**
   * The principal of a workload acting for an actor. Rebuilt only when something it holds differs
   * from the last one built for this actor (or for this workload without one): fresh workload
   * tokens of one caller then share one frozen principal, which the engine validates once.
   */
  function principalFor(workloadId: string, mapped: WorkloadMapping, actor: VerifiedActor | undefined): Principal {
    const last = actor === undefined ? unaccompanied.get(workloadId) : accompanied.get(actor)
    if (last !== undefined && last.id === workloadId && sameStrings(last.roles, mapped.roles) && sameEntries(last.attr, mapped.attr, actor)) {
      return last
    }
    const principal = deepFreeze(buildPrincipal({ id: workloadId, ...mapped }, actor))
    if (actor === undefined) {
      if (unaccompanied.size >= PRINCIPALS_WITHOUT_ACTOR) unaccompanied.delete(unaccompanied.keys().next().value as string)
      unaccompanied.set(workloadId, principal)
    } else accompanied.set(actor, principal)
    return principal
  }

  /** The frozen verification of a token pair. */
  function assemble(
    parts: {
      workload: VerifiedWorkloadToken
      workloadToken: string
      workloadChain: string[]
      tokenTxn: string | undefined
      mappedWorkload: ReturnType<typeof mapWorkload>
      actorDigest: string | undefined
      selfSigned: boolean
    },
    verifiedActor: { actor: VerifiedActor; token: string; verified: VerifiedActorToken } | undefined,
    actorChain: string[],
  ): Verified {
    const { workload, workloadToken, mappedWorkload } = parts
    const actor = verifiedActor?.actor
    const workloadExp = workload.exp * 1000
    const caller = deepFreeze({
      workload: {
        id: workload.id.id,
        trustDomain: workload.id.trustDomain,
        issuer: typeof workload.claims['iss'] === 'string' ? workload.claims['iss'] : undefined,
        roles: mappedWorkload.roles,
        selfSigned: parts.selfSigned,
        claims: workload.claims,
      },
      actor,
      delegation: delegationOf(parts.workloadChain, actorChain),
      tokenDigests: { workload: sha256Base64url(workloadToken), actor: parts.actorDigest },
      principal: principalFor(workload.id.id, mappedWorkload, actor),
      expiresAt: verifiedActor === undefined ? workloadExp : Math.min(workloadExp, verifiedActor.verified.exp * 1000),
    })
    const actorToken = verifiedActor?.token
    return { caller, tokenTxn: parts.tokenTxn, actorToken, workloadToken, workload, actor: verifiedActor?.verified }
  }

  function checkRequirement(requirement: ActorRequirement, hasActor: boolean): void {
    if (requirement === 'required' && !hasActor) {
      throw new IdentityMissingError('this route acts on behalf of a user: actor token required', { reason: 'actor_required', tokenKind: 'actor' })
    }
    if (requirement === 'forbidden' && hasActor) {
      throw new IdentityError('actor_forbidden', 'this route does not accept an actor token', { tokenKind: 'actor' })
    }
  }

  function verifyNow(headers: HeaderView, callOptions: VerifyCallOptions = {}): MaybePromise<VerifiedCaller> {
    if (typeof headers !== 'object' || headers === null) throw new IdentityMissingError('no credentials')
    const requirement = callOptions.actor ?? 'optional'
    if (requirement !== 'required' && requirement !== 'forbidden' && requirement !== 'optional') {
      throw new ConfigError('route.actor', 'must be "required", "forbidden" or "optional"')
    }
    // Every header is read and checked in the same order as without a cache. Reading a token is a
    // pure function of its header value, so a cached entry whose value is equal supplies the token.
    const authorization = singleHeader(headers, 'authorization', 'workload', maxHeaderBytes)
    const key = authorization === undefined ? undefined : cacheKey(authorization, peekSingleHeader(headers, actorHeader))
    const cached = key === undefined ? undefined : cache.get(key)
    // Each header value is compared with the cached one once (tokens run to ~1 KB).
    const sameAuthorization = cached !== undefined && cached.authorization === authorization
    const workloadToken = sameAuthorization ? cached.verified.workloadToken : parseBearer(authorization)
    const actorValue = singleHeader(headers, actorHeader, 'actor', maxHeaderBytes)
    const sameActor = cached !== undefined && cached.actor === actorValue
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
      const shared = running !== undefined && running.workloadToken === workloadToken && running.actorToken === actorToken
      const result = shared ? running.result : verifyTokens(workloadToken, actorToken, now)
      if (isPromise(result)) {
        if (running === undefined) {
          inflight.set(key, { workloadToken, actorToken, result })
          void result.then(
            () => inflight.delete(key),
            () => inflight.delete(key),
          )
        }
        return result.then((fresh) => {
          cache.set(key, { verified: fresh, authorization, actor: actorValue, checkedSecond: Math.floor(now / 1000) })
          return answer(fresh, headerTxn, callOptions.newTransactionId)
        })
      }
      cache.set(key, { verified: result, authorization, actor: actorValue, checkedSecond: Math.floor(now / 1000) })
      return answer(result, headerTxn, callOptions.newTransactionId)
    }
    cacheHits++
    return answer(verified, headerTxn, callOptions.newTransactionId)
  }

  /** The caller of one request, once the header's transaction id agrees with the token's. */
  function answer(verified: Verified, headerTxn: string | undefined, newTransactionId: string | undefined): VerifiedCaller {
    if (headerTxn !== undefined && verified.tokenTxn !== undefined && headerTxn !== verified.tokenTxn) {
      throw new IdentityError('txn_mismatch', 'transaction id header differs from the token')
    }
    return new CallerRecord(verified, verified.tokenTxn ?? headerTxn ?? newTransactionId ?? newRequestId())
  }

  return {
    // Rejections, never throws: the promise form is the public contract.
    verify: async (headers, callOptions) => verifyNow(headers, callOptions),
    verifyNow,
    trust,
    stats: () => ({ ...trust.counters(), cacheHits, cacheMisses, cacheSize: cache.size }),
  }
}
