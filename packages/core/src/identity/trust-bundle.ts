import { ConfigError } from '../errors.js'
import { ASYMMETRIC_ALGORITHMS, DEFAULT_ALGORITHMS } from './jwk.js'
import { createKeyStore, type KeyStore, type KeyStoreContext } from './key-store.js'
import { compileIdentityPatterns, isSpiffeId, type SpiffeId } from './spiffe.js'
import type { TrustBundleOptions, TrustCounters, TrustEvent, WorkloadTrustAnchor, ActorIssuer } from './types.js'

/** The `typ` of workload tokens minted by meshguard. */
export const WORKLOAD_TOKEN_TYP = 'workload+jwt'
/** The `typ` of OAuth 2.0 JWT access tokens (RFC 9068), the default for actor tokens. */
export const ACCESS_TOKEN_TYP = 'at+jwt'

/** Normalizes a `typ` value the way RFC 8725bis compares media types. */
export function normalizeTyp(typ: string): string {
  const lower = typ.toLowerCase()
  return lower.startsWith('application/') ? lower.slice('application/'.length) : lower
}

/** @internal A workload anchor after validation. */
export interface ResolvedWorkloadAnchor {
  readonly issuer: string | undefined
  readonly mayIdentify: (id: SpiffeId) => boolean
  readonly keys: KeyStore
  readonly typ: ReadonlySet<string>
  readonly typOptional: boolean
  readonly algorithms: ReadonlySet<string>
  readonly requireActorBinding: boolean
}

/** @internal An actor issuer after validation. */
export interface ResolvedActorIssuer {
  readonly issuer: string
  readonly keys: KeyStore
  readonly audiences: ReadonlySet<string>
  readonly typ: ReadonlySet<string>
  readonly algorithms: ReadonlySet<string>
  readonly maxTokenAge: number
  readonly maxLifetime: number
}

function algorithmSet(algorithms: string[] | undefined, option: string): ReadonlySet<string> {
  const list = algorithms ?? DEFAULT_ALGORITHMS
  if (!Array.isArray(list) || list.length === 0) throw new ConfigError(option, 'must be a non-empty list')
  for (const alg of list) {
    if (!ASYMMETRIC_ALGORITHMS.has(alg)) throw new ConfigError(option, `"${String(alg)}" is not an allowed asymmetric algorithm`)
  }
  return new Set(list)
}

function typSet(typ: string[] | undefined, fallback: string, option: string): ReadonlySet<string> {
  const list = typ ?? [fallback]
  if (!Array.isArray(list) || list.length === 0 || list.some((t) => typeof t !== 'string' || t.length === 0)) {
    throw new ConfigError(option, 'must be a non-empty list of media types')
  }
  return new Set(list.map(normalizeTyp))
}

function seconds(value: number | undefined, fallback: number, option: string): number {
  if (value === undefined) return fallback
  if (!Number.isFinite(value) || value <= 0) throw new ConfigError(option, 'must be a positive number of seconds')
  return value
}

/**
 * The trusted signers of workload and actor tokens, with their key stores. Keys only ever come from
 * here, never from a token's `jku`, `jwk`, `x5u` or `x5c` header. Share one bundle between verifiers
 * so JWKS caches are shared too.
 */
export class TrustBundle {
  private readonly workloadsByIssuer = new Map<string | undefined, ResolvedWorkloadAnchor[]>()
  private readonly actorsByIssuer = new Map<string, ResolvedActorIssuer>()
  private readonly totals: TrustCounters = {
    jwksFetches: 0,
    jwksFetchFailures: 0,
    jwksStaleServed: 0,
    jwksRefreshSuppressed: 0,
    jwksUnavailable: 0,
  }

  /** Use {@link createTrustBundle}. */
  constructor(options: TrustBundleOptions) {
    if (typeof options !== 'object' || options === null) throw new ConfigError('trust', 'must be an object')
    const onEvent = options.onEvent
    const clock = options.clock ?? Date.now
    const context: KeyStoreContext = {
      clock,
      emit: (event) => {
        this.count(event)
        if (onEvent === undefined) return
        try {
          onEvent(event)
        } catch {
          // A failing metrics hook must not change verification.
        }
      },
    }
    if (!Array.isArray(options.workloads)) throw new ConfigError('trust.workloads', 'must be a list of trust anchors')
    options.workloads.forEach((anchor, i) => {
      const resolved = resolveWorkloadAnchor(anchor, `trust.workloads[${i}]`, context)
      const list = this.workloadsByIssuer.get(resolved.issuer) ?? []
      list.push(resolved)
      this.workloadsByIssuer.set(resolved.issuer, list)
    })
    const actors = options.actors ?? []
    if (!Array.isArray(actors)) throw new ConfigError('trust.actors', 'must be a list of issuers')
    actors.forEach((actor, i) => {
      const resolved = resolveActorIssuer(actor, `trust.actors[${i}]`, context)
      if (this.actorsByIssuer.has(resolved.issuer)) throw new ConfigError(`trust.actors[${i}].issuer`, 'is listed twice')
      this.actorsByIssuer.set(resolved.issuer, resolved)
    })
  }

  /** Running totals of JWKS activity, for metrics. */
  counters(): TrustCounters {
    return { ...this.totals }
  }

  /** @internal Anchors whose `iss` is exactly `issuer` (`undefined`: tokens without `iss`). */
  workloadAnchors(issuer: string | undefined): readonly ResolvedWorkloadAnchor[] {
    return this.workloadsByIssuer.get(issuer) ?? []
  }

  /** @internal The actor issuer with exactly this `iss`. */
  actorIssuer(issuer: string): ResolvedActorIssuer | undefined {
    return this.actorsByIssuer.get(issuer)
  }

  private count(event: TrustEvent): void {
    switch (event.type) {
      case 'jwks_fetched':
        this.totals.jwksFetches++
        break
      case 'jwks_fetch_failed':
        this.totals.jwksFetchFailures++
        break
      case 'jwks_stale_served':
        this.totals.jwksStaleServed++
        break
      case 'jwks_refresh_suppressed':
        this.totals.jwksRefreshSuppressed++
        break
      case 'jwks_unavailable':
        this.totals.jwksUnavailable++
        break
      default:
        break
    }
  }
}

function resolveWorkloadAnchor(anchor: WorkloadTrustAnchor, option: string, context: KeyStoreContext): ResolvedWorkloadAnchor {
  if (typeof anchor !== 'object' || anchor === null) throw new ConfigError(option, 'must be an object')
  const { issuer } = anchor
  if (issuer !== undefined && (typeof issuer !== 'string' || issuer.length === 0)) {
    throw new ConfigError(`${option}.issuer`, 'must be a non-empty string')
  }
  const identities = anchor.identities ?? (issuer !== undefined && isSpiffeId(issuer) ? [issuer] : undefined)
  if (identities === undefined || !Array.isArray(identities) || identities.length === 0) {
    throw new ConfigError(`${option}.identities`, 'must list the SPIFFE IDs (or spiffe://<td>/*) these keys may sign for')
  }
  let mayIdentify: (id: SpiffeId) => boolean
  try {
    mayIdentify = compileIdentityPatterns(identities)
  } catch (err) {
    throw new ConfigError(`${option}.identities`, err instanceof Error ? err.message : 'invalid identity', { cause: err })
  }
  return Object.freeze({
    issuer,
    mayIdentify,
    keys: createKeyStore(anchor.keys, `${option}.keys`, context),
    typ: typSet(anchor.typ, WORKLOAD_TOKEN_TYP, `${option}.typ`),
    typOptional: anchor.typOptional === true,
    algorithms: algorithmSet(anchor.algorithms, `${option}.algorithms`),
    requireActorBinding: anchor.requireActorBinding !== false,
  })
}

function resolveActorIssuer(actor: ActorIssuer, option: string, context: KeyStoreContext): ResolvedActorIssuer {
  if (typeof actor !== 'object' || actor === null) throw new ConfigError(option, 'must be an object')
  if (typeof actor.issuer !== 'string' || actor.issuer.length === 0) {
    throw new ConfigError(`${option}.issuer`, 'must be a non-empty string')
  }
  const audiences = actor.audiences
  if (!Array.isArray(audiences) || audiences.length === 0 || audiences.some((a) => typeof a !== 'string' || a === '')) {
    throw new ConfigError(`${option}.audiences`, 'must list the audiences accepted on actor tokens')
  }
  return Object.freeze({
    issuer: actor.issuer,
    keys: createKeyStore(actor.keys, `${option}.keys`, context),
    audiences: new Set(audiences),
    typ: typSet(actor.typ, ACCESS_TOKEN_TYP, `${option}.typ`),
    algorithms: algorithmSet(actor.algorithms, `${option}.algorithms`),
    maxTokenAge: seconds(actor.maxTokenAge, 3600, `${option}.maxTokenAge`),
    maxLifetime: seconds(actor.maxLifetime, 86_400, `${option}.maxLifetime`),
  })
}

/**
 * Validates trust options once and builds the key stores (a JWKS file is read now, a JWKS URL is
 * fetched on first use).
 *
 * @throws ConfigError naming the option path (e.g. `trust.workloads[0].identities`)
 */
export function createTrustBundle(options: TrustBundleOptions): TrustBundle {
  return new TrustBundle(options)
}
