import { randomUUID } from 'node:crypto'
import { ConfigError, IdentityError, IdentityMissingError } from '../errors.js'
import { checkActorBinding, checkActorIssuedTo } from './binding.js'
import { walkActChain } from './delegation.js'
import { sha256Base64url } from './digest.js'
import {
  actorToken as readActorToken,
  bearerToken,
  DEFAULT_ACTOR_HEADER,
  DEFAULT_TRANSACTION_HEADER,
  isTransactionId,
  transactionIdHeader,
} from './headers.js'
import { Lru } from './lru.js'
import { buildPrincipal, deepFreeze, defaultActorMapping, defaultWorkloadMapping, runMapping } from './principal.js'
import { TrustBundle } from './trust-bundle.js'
import type {
  ActorRequirement,
  HeaderView,
  IdentityVerifierOptions,
  VerifiedActor,
  VerifiedCaller,
  VerifierStats,
  VerifyCallOptions,
} from './types.js'
import { verifyActorToken, verifyWorkloadToken, type SlotLimits } from './verify-token.js'

/**
 * The raw actor token on a {@link VerifiedCaller}: a non-enumerable symbol property, so the outbound
 * client can forward it while `JSON.stringify`, spreading and loggers never see it.
 */
export const kActorToken: unique symbol = Symbol.for('@meshguard/identity.actorToken')

/** The raw actor token a caller arrived with (to forward it unchanged), if any. */
export function actorTokenOf(caller: VerifiedCaller): string | undefined {
  return (caller as { [kActorToken]?: string })[kActorToken]
}

/** Attaches the raw actor token to a caller without making it enumerable. */
export function withActorToken<T extends object>(caller: T, token: string | undefined): T {
  if (token !== undefined) Object.defineProperty(caller, kActorToken, { value: token, enumerable: false })
  return caller
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
  /** Cache and JWKS statistics, for metrics. */
  stats(): VerifierStats
  /** The trust bundle in use. */
  readonly trust: TrustBundle
}

/** What the cache keeps: everything except the per-request transaction id. */
interface Verified {
  readonly caller: Omit<VerifiedCaller, 'transactionId'>
  /** The `txn` the workload token carries, if any. */
  readonly tokenTxn: string | undefined
  readonly actorToken: string | undefined
  /** The workload token, compared in full on every cache hit. */
  readonly workloadToken: string
}

/**
 * The cache key: the two signatures. Hashing them is cheaper than hashing whole tokens; a hit still
 * compares both tokens in full, so two tokens sharing a signature can never share a result.
 */
function cacheKey(workloadToken: string, actorToken: string | undefined): string {
  const workloadSignature = workloadToken.slice(workloadToken.lastIndexOf('.') + 1)
  return actorToken === undefined ? workloadSignature : `${workloadSignature}.${actorToken.slice(actorToken.lastIndexOf('.') + 1)}`
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
  const tolerance = options.clockTolerance ?? 30
  if (!Number.isFinite(tolerance) || tolerance < 0 || tolerance > 60) {
    throw new ConfigError('identity.clockTolerance', 'must be between 0 and 60 seconds')
  }
  const maxWorkloadLifetime = options.maxWorkloadLifetime ?? 900
  if (!Number.isFinite(maxWorkloadLifetime) || maxWorkloadLifetime <= 0) {
    throw new ConfigError('identity.maxWorkloadLifetime', 'must be a positive number of seconds')
  }
  const maxTokenBytes = positiveInteger(options.maxTokenBytes, 8192, 'identity.maxTokenBytes', 256)
  const maxActDepth = positiveInteger(options.maxActDepth, 5, 'identity.maxActDepth', 0)
  const cacheSize = positiveInteger(options.cacheSize, 10_000, 'identity.cacheSize', 0)
  const clock = options.clock ?? Date.now
  const claims = options.claims ?? {}
  const mapWorkload = claims.mapWorkload ?? defaultWorkloadMapping(claims)
  const mapActor = claims.mapActor ?? defaultActorMapping(claims)
  const ourAudiences: ReadonlySet<string> = new Set(audiences)

  const cache = new Lru<string, Verified>(cacheSize)
  // Concurrent first requests with the same tokens share one verification.
  const inflight = new Map<string, { workloadToken: string; actorToken: string | undefined; result: Promise<Verified> }>()
  let cacheHits = 0
  let cacheMisses = 0

  async function verifyTokens(workloadToken: string, actorToken: string | undefined, nowMs: number): Promise<Verified> {
    const base: SlotLimits = { maxTokenBytes, tolerance, now: Math.floor(nowMs / 1000) }
    const workload = await verifyWorkloadToken(workloadToken, trust, {
      ...base,
      audience: ourAudiences,
      audienceMode,
      maxLifetime: maxWorkloadLifetime,
    })
    const workloadChain = walkActChain(workload.claims['act'], maxActDepth, true)
    const tokenTxn = workload.claims['txn']
    if (tokenTxn !== undefined && !isTransactionId(tokenTxn)) throw new IdentityError('txn_invalid', 'token "txn" is malformed')

    const actorDigest = actorToken === undefined ? undefined : sha256Base64url(actorToken)
    checkActorBinding(workload.claims['ath'], actorDigest, workload.anchor.requireActorBinding)

    const mappedWorkload = runMapping(() => mapWorkload(workload.claims, workload.id.id))
    let actor: VerifiedActor | undefined
    let actorChain: string[] = []
    let expiresAt = workload.exp * 1000
    if (actorToken !== undefined) {
      const verifiedActor = await verifyActorToken(actorToken, trust, base)
      actorChain = walkActChain(verifiedActor.claims['act'], maxActDepth, false)
      checkActorIssuedTo(actorChain, workload.id.id, workloadChain)
      const mapped = runMapping(() => mapActor(verifiedActor.claims))
      if (typeof mapped.id !== 'string' || mapped.id === '' || (mapped.type !== 'user' && mapped.type !== 'agent')) {
        throw new IdentityError('claim_mapping_failed', 'actor mapping returned no id or type')
      }
      actor = {
        id: mapped.id,
        type: mapped.type,
        roles: mapped.roles,
        attr: mapped.attr,
        issuer: verifiedActor.issuer.issuer,
        claims: verifiedActor.claims,
      }
      expiresAt = Math.min(expiresAt, verifiedActor.exp * 1000)
    }
    const caller = deepFreeze({
      workload: {
        id: workload.id.id,
        trustDomain: workload.id.trustDomain,
        issuer: typeof workload.claims['iss'] === 'string' ? workload.claims['iss'] : undefined,
        roles: mappedWorkload.roles,
        claims: workload.claims,
      },
      actor,
      delegation: { workloads: workloadChain, actorChain },
      tokenDigests: { workload: sha256Base64url(workloadToken), actor: actorDigest },
      principal: buildPrincipal({ id: workload.id.id, ...mappedWorkload }, actor),
      expiresAt,
    })
    return { caller, tokenTxn: tokenTxn as string | undefined, actorToken, workloadToken }
  }

  function checkRequirement(requirement: ActorRequirement, hasActor: boolean): void {
    if (requirement === 'required' && !hasActor) {
      throw new IdentityMissingError('this route acts on behalf of a user: actor token required', { reason: 'actor_required' })
    }
    if (requirement === 'forbidden' && hasActor) {
      throw new IdentityError('actor_forbidden', 'this route does not accept an actor token')
    }
  }

  async function verify(headers: HeaderView, callOptions: VerifyCallOptions = {}): Promise<VerifiedCaller> {
    if (typeof headers !== 'object' || headers === null) throw new IdentityMissingError('no credentials')
    const requirement = callOptions.actor ?? 'optional'
    if (requirement !== 'required' && requirement !== 'forbidden' && requirement !== 'optional') {
      throw new ConfigError('route.actor', 'must be "required", "forbidden" or "optional"')
    }
    const workloadToken = bearerToken(headers)
    const actorToken = readActorToken(headers, actorHeader)
    const headerTxn = transactionIdHeader(headers, transactionHeader)
    if (workloadToken === undefined) throw new IdentityMissingError('workload token required')
    checkRequirement(requirement, actorToken !== undefined)

    const now = clock()
    const key = cacheKey(workloadToken, actorToken)
    let verified = cache.get(key)
    if (verified !== undefined && (verified.workloadToken !== workloadToken || verified.actorToken !== actorToken)) {
      verified = undefined
    }
    // A cached result is only used strictly before the earliest `exp`: the cache never extends a token.
    if (verified !== undefined && now >= verified.caller.expiresAt) {
      cache.delete(key)
      verified = undefined
    }
    if (verified === undefined) {
      cacheMisses++
      // Share a running verification only with a request carrying the very same tokens.
      const running = inflight.get(key)
      if (running !== undefined && running.workloadToken === workloadToken && running.actorToken === actorToken) {
        verified = await running.result
      } else {
        const result = verifyTokens(workloadToken, actorToken, now)
        if (running === undefined) {
          inflight.set(key, { workloadToken, actorToken, result })
          void result.then(
            () => inflight.delete(key),
            () => inflight.delete(key),
          )
        }
        verified = await result
      }
      cache.set(key, verified)
    } else {
      cacheHits++
    }
    if (headerTxn !== undefined && verified.tokenTxn !== undefined && headerTxn !== verified.tokenTxn) {
      throw new IdentityError('txn_mismatch', 'transaction id header differs from the token')
    }
    const transactionId = verified.tokenTxn ?? headerTxn ?? randomUUID()
    return withActorToken({ ...verified.caller, transactionId }, verified.actorToken)
  }

  return {
    verify,
    trust,
    stats: () => ({ ...trust.counters(), cacheHits, cacheMisses, cacheSize: cache.size }),
  }
}
