import { ConfigError } from '../../errors.js'
import { ASYMMETRIC_ALGORITHMS, DEFAULT_ALGORITHMS } from '../jws-algorithms.js'
import { IssuerFamily } from './issuer-family.js'
import { createKeyStore } from './key-store.js'
import { WIT_KEY_USES } from './jwk.js'
import { deepFreeze } from '../../internal/deep-freeze.js'
import { bareRecord } from '../../internal/own.js'
import { ACCESS_TOKEN_TYP, normalizeTyp, TOKEN_CLAIMS, WORKLOAD_TOKEN_TYP } from '../wire.js'
import { compileIdentityPatterns, isSpiffeId, parseSpiffeId, type SpiffeId } from '../spiffe.js'
import type {
  ActorIssuer,
  KeyStore,
  KeyStoreContext,
  ResolvedActorIssuer,
  TrustBundleOptions,
  TrustCounters,
  TrustEvent,
  TxnTokenServiceTrust,
  WorkloadIssuerTrust,
  WorkloadTrustAnchor,
} from './types.js'
import { TXN_TOKEN_TYP } from '../txn-wire.js'

export type { ResolvedActorIssuer } from './types.js'

/** @internal A workload anchor after validation. */
export interface ResolvedWorkloadAnchor {
  readonly issuer: string | undefined
  readonly mayIdentify: (id: SpiffeId) => boolean
  readonly keys: KeyStore
  readonly typ: ReadonlySet<string>
  readonly typOptional: boolean
  readonly algorithms: ReadonlySet<string>
  readonly requireActorBinding: boolean
  /** The issuer is one of the identities it vouches for: its tokens are the workload's own say. */
  readonly selfSigned: boolean
  /** Roles the callee grants every identity of this anchor. */
  readonly roles: readonly string[]
  /** Attributes the callee grants every identity of this anchor (no prototype). */
  readonly attributes: Readonly<Record<string, unknown>>
  /** Claims the issuer may assert (never set on a self-signed anchor). */
  readonly authoritativeClaims: ReadonlySet<string> | undefined
}


function algorithmSet(algorithms: string[] | undefined, option: string): ReadonlySet<string> {
  const list = algorithms ?? DEFAULT_ALGORITHMS
  if (!Array.isArray(list) || list.length === 0) throw new ConfigError(option, 'must be a non-empty list')
  for (const alg of list) {
    if (typeof alg !== 'string' || !ASYMMETRIC_ALGORITHMS.has(alg)) throw new ConfigError(option, `"${String(alg)}" is not an allowed asymmetric algorithm`)
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
  /** @internal The trusted Txn-Token Service, when Txn-Tokens are accepted. */
  readonly txnTokenService: ResolvedTxnTokenService | undefined
  private readonly families: IssuerFamily[] = []
  private readonly witIssuers = new Map<string, ResolvedWorkloadIssuer>()
  private readonly totals: TrustCounters = {
    jwksFetches: 0,
    jwksFetchFailures: 0,
    jwksStaleServed: 0,
    jwksRefreshSuppressed: 0,
    jwksUnavailable: 0,
  }

  /** @internal Reports an event of a verifier's trust checks (revocation lists) through this bundle's `onEvent`. */
  readonly report: (event: TrustEvent) => void

  /** Use {@link createTrustBundle}. */
  constructor(options: TrustBundleOptions) {
    if (typeof options !== 'object' || (options as unknown) === null) throw new ConfigError('trust', 'must be an object')
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
    this.report = context.emit
    // A callee that trusts only WIT issuers lists no per-caller anchors at all.
    const workloads = options.workloads ?? (options.workloadIssuers === undefined ? undefined : [])
    if (!Array.isArray(workloads)) throw new ConfigError('trust.workloads', 'must be a list of trust anchors')
    workloads.forEach((anchor, i) => {
      const resolved = resolveWorkloadAnchor(anchor, `trust.workloads[${i}]`, context)
      const list = this.workloadsByIssuer.get(resolved.issuer) ?? []
      list.push(resolved)
      this.workloadsByIssuer.set(resolved.issuer, list)
    })
    const actors = options.actors ?? []
    if (!Array.isArray(actors)) throw new ConfigError('trust.actors', 'must be a list of issuers')
    const families = options.actorIssuerFamilies ?? []
    if (!Array.isArray(families)) throw new ConfigError('trust.actorIssuerFamilies', 'must be a list of issuer families')
    actors.forEach((actor, i) => {
      // Beside a family, every issuer's ids are qualified: a family has many issuers.
      const resolved = resolveActorIssuer(actor, `trust.actors[${i}]`, context, actors.length + families.length)
      if (this.actorsByIssuer.has(resolved.issuer)) throw new ConfigError(`trust.actors[${i}].issuer`, 'is listed twice')
      this.actorsByIssuer.set(resolved.issuer, resolved)
    })
    checkActorIdPrefixes([...this.actorsByIssuer.values()].map((a) => a.actorIdPrefix))
    this.txnTokenService = options.txnTokens === undefined ? undefined : resolveTxnTokenService(options.txnTokens, context)
    const witIssuers = options.workloadIssuers ?? []
    if (!Array.isArray(witIssuers)) throw new ConfigError('trust.workloadIssuers', 'must be a list of { trustDomain, keys }')
    witIssuers.forEach((issuer, i) => {
      const resolved = resolveWorkloadIssuer(issuer, `trust.workloadIssuers[${i}]`, context)
      if (this.witIssuers.has(resolved.trustDomain)) throw new ConfigError(`trust.workloadIssuers[${i}].trustDomain`, 'has an issuer already: one issuer key set per trust domain')
      this.witIssuers.set(resolved.trustDomain, resolved)
    })
    families.forEach((family, i) => this.families.push(new IssuerFamily(family, `trust.actorIssuerFamilies[${i}]`, context, resolveActorIssuer)))
  }

  /** Running totals of JWKS activity, for metrics. */
  counters(): TrustCounters {
    return { ...this.totals }
  }

  /** @internal Anchors whose `iss` is exactly `issuer` (`undefined`: tokens without `iss`). */
  workloadAnchors(issuer: string | undefined): readonly ResolvedWorkloadAnchor[] {
    return this.workloadsByIssuer.get(issuer) ?? []
  }

  /** @internal The WIT issuer of a trust domain, if one is configured. */
  workloadIssuer(trustDomain: string): ResolvedWorkloadIssuer | undefined {
    return this.witIssuers.get(trustDomain)
  }

  /** @internal Whether any WIT issuer is configured (WIT/WPT requests are accepted at all). */
  get acceptsWorkloadProofs(): boolean {
    return this.witIssuers.size > 0
  }

  /** @internal The actor issuer with exactly this `iss`. */
  actorIssuer(issuer: string): ResolvedActorIssuer | undefined {
    const exact = this.actorsByIssuer.get(issuer)
    if (exact !== undefined || this.families.length === 0) return exact
    for (const family of this.families) {
      const member = family.resolve(issuer)
      if (member !== undefined) return member
    }
    return undefined
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
  if (typeof anchor !== 'object' || (anchor as unknown) === null) throw new ConfigError(option, 'must be an object')
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
  // Keys held by one of the identities they vouch for sign that workload's own claims.
  const selfSigned = issuer !== undefined && isSpiffeId(issuer) && mayIdentify(parseSpiffeId(issuer))
  const authoritativeClaims = claimNames(anchor.authoritativeClaims, `${option}.authoritativeClaims`, WORKLOAD_AUTHORITY_CLAIMS)
  if (selfSigned && authoritativeClaims !== undefined) {
    throw new ConfigError(`${option}.authoritativeClaims`, 'a self-signed anchor is no authority for its own claims: grant roles and attributes here instead')
  }
  return Object.freeze({
    issuer,
    mayIdentify,
    keys: createKeyStore(anchor.keys, `${option}.keys`, context, issuer),
    typ: typSet(anchor.typ, WORKLOAD_TOKEN_TYP, `${option}.typ`),
    typOptional: anchor.typOptional === true,
    algorithms: algorithmSet(anchor.algorithms, `${option}.algorithms`),
    requireActorBinding: anchor.requireActorBinding !== false,
    selfSigned,
    roles: roleList(anchor.roles, `${option}.roles`),
    attributes: attributeRecord(anchor.attributes, `${option}.attributes`),
    authoritativeClaims,
  })
}

/** Registered claims an authority may vouch for beside free-form ones (the others are about the token). */
const WORKLOAD_AUTHORITY_CLAIMS: ReadonlySet<string> = new Set(['act'])

function claimNames(names: string[] | undefined, option: string, allowedRegistered: ReadonlySet<string>): ReadonlySet<string> | undefined {
  if (names === undefined) return undefined
  if (!Array.isArray(names) || names.some((n) => typeof n !== 'string' || n === '')) throw new ConfigError(option, 'must be a list of claim names')
  for (const name of names) {
    if (TOKEN_CLAIMS.has(name) && !allowedRegistered.has(name)) throw new ConfigError(option, `"${name}" describes the token, not the caller`)
  }
  return new Set(names)
}

function roleList(roles: string[] | undefined, option: string): readonly string[] {
  if (roles === undefined) return Object.freeze([])
  if (!Array.isArray(roles) || roles.some((r) => typeof r !== 'string' || r === '')) throw new ConfigError(option, 'must be a list of role names')
  return Object.freeze([...new Set(roles)])
}

function attributeRecord(attributes: Record<string, unknown> | undefined, option: string): Readonly<Record<string, unknown>> {
  const out = bareRecord()
  if (attributes === undefined) return Object.freeze(out)
  if (typeof attributes !== 'object' || (attributes as unknown) === null || Array.isArray(attributes)) throw new ConfigError(option, 'must be an object')
  for (const name of Object.keys(attributes)) {
    if (name === 'act') throw new ConfigError(`${option}.act`, 'is reserved for the actor')
    out[name] = attributes[name]
  }
  return deepFreeze(out)
}

/** Each issuer's actor ids must stay distinct from every other issuer's. */
function checkActorIdPrefixes(prefixes: readonly string[]): void {
  for (let i = 0; i < prefixes.length; i++) {
    for (let j = 0; j < prefixes.length; j++) {
      if (i !== j && (prefixes[j] as string).startsWith(prefixes[i] as string)) {
        throw new ConfigError(`trust.actors[${j}].actorIdPrefix`, `overlaps the actor ids of trust.actors[${i}]: one issuer's user could pass for another's`)
      }
    }
  }
}

/** @internal Validates one actor issuer (`issuers`: how many share the bundle, for the id prefix). */
export function resolveActorIssuer(actor: ActorIssuer, option: string, context: KeyStoreContext, issuers: number): ResolvedActorIssuer {
  if (typeof actor !== 'object' || (actor as unknown) === null) throw new ConfigError(option, 'must be an object')
  if (typeof actor.issuer !== 'string' || actor.issuer.length === 0) {
    throw new ConfigError(`${option}.issuer`, 'must be a non-empty string')
  }
  const audiences = actor.audiences
  if (!Array.isArray(audiences) || audiences.length === 0 || audiences.some((a) => typeof a !== 'string' || a === '')) {
    throw new ConfigError(`${option}.audiences`, 'must list the audiences accepted on actor tokens')
  }
  return Object.freeze({
    issuer: actor.issuer,
    keys: createKeyStore(actor.keys ?? { discovery: true }, `${option}.keys`, context, actor.issuer),
    audiences: new Set(audiences),
    typ: typSet(actor.typ, ACCESS_TOKEN_TYP, `${option}.typ`),
    algorithms: algorithmSet(actor.algorithms, `${option}.algorithms`),
    maxTokenAge: seconds(actor.maxTokenAge, 3600, `${option}.maxTokenAge`),
    maxLifetime: seconds(actor.maxLifetime, 86_400, `${option}.maxLifetime`),
    authoritativeClaims: claimNames(actor.authoritativeClaims, `${option}.authoritativeClaims`, NO_REGISTERED_CLAIMS),
    actorIdPrefix: actorIdPrefix(actor, option, issuers),
  })
}

const NO_REGISTERED_CLAIMS: ReadonlySet<string> = new Set()

/** The prefix of an issuer's actor ids: none alone, `<issuer>#` beside other issuers unless configured. */
function actorIdPrefix(actor: ActorIssuer, option: string, issuers: number): string {
  const prefix = actor.actorIdPrefix
  if (prefix !== undefined) {
    if (typeof prefix !== 'string') throw new ConfigError(`${option}.actorIdPrefix`, 'must be a string')
    return prefix
  }
  if (issuers <= 1) return ''
  // An issuer identifier has no fragment, so `#` ends it unambiguously.
  if (actor.issuer.includes('#')) throw new ConfigError(`${option}.actorIdPrefix`, 'is required: the issuer contains "#"')
  return `${actor.issuer}#`
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

/** @internal The Txn-Token Service trust after validation. */
export interface ResolvedTxnTokenService {
  readonly trustDomain: string
  readonly issuer: string | undefined
  readonly keys: KeyStore
  readonly typ: ReadonlySet<string>
  readonly algorithms: ReadonlySet<string>
  readonly maxLifetime: number
}

/** Validates the Txn-Token Service trust once (option paths under `trust.txnTokens`). */
function resolveTxnTokenService(options: TxnTokenServiceTrust, context: KeyStoreContext): ResolvedTxnTokenService {
  const at = 'trust.txnTokens'
  if (typeof options !== 'object' || (options as unknown) === null) throw new ConfigError(at, 'must be { trustDomain, keys }')
  if (typeof options.trustDomain !== 'string' || options.trustDomain === '') throw new ConfigError(`${at}.trustDomain`, 'must name this trust domain')
  if (options.issuer !== undefined && (typeof options.issuer !== 'string' || options.issuer === '')) {
    throw new ConfigError(`${at}.issuer`, 'must be a non-empty string')
  }
  return {
    trustDomain: options.trustDomain,
    issuer: options.issuer,
    keys: createKeyStore(options.keys, `${at}.keys`, context),
    typ: typSet(options.typ, TXN_TOKEN_TYP, `${at}.typ`),
    algorithms: algorithmSet(options.algorithms, `${at}.algorithms`),
    maxLifetime: seconds(options.maxLifetime, 300, `${at}.maxLifetime`),
  }
}

/** @internal A WIT issuer after validation. */
export interface ResolvedWorkloadIssuer {
  readonly trustDomain: string
  readonly issuer: string | undefined
  readonly keys: KeyStore
  readonly algorithms: ReadonlySet<string>
  readonly proofAlgorithms: ReadonlySet<string>
  readonly attributeAuthority: boolean
  readonly roles: readonly string[]
}

const TRUST_DOMAIN_NAME = /^[a-z0-9._-]{1,255}$/

/** Validates one WIT issuer once (option paths under `trust.workloadIssuers[i]`). */
function resolveWorkloadIssuer(options: WorkloadIssuerTrust, at: string, context: KeyStoreContext): ResolvedWorkloadIssuer {
  if (typeof options !== 'object' || (options as unknown) === null) throw new ConfigError(at, 'must be { trustDomain, keys }')
  if (typeof options.trustDomain !== 'string' || !TRUST_DOMAIN_NAME.test(options.trustDomain)) {
    throw new ConfigError(`${at}.trustDomain`, 'must be a trust domain name (lower-case [a-z0-9._-])')
  }
  if (options.issuer !== undefined && (typeof options.issuer !== 'string' || options.issuer === '')) {
    throw new ConfigError(`${at}.issuer`, 'must be a non-empty string')
  }
  if (options.attributeAuthority !== undefined && typeof options.attributeAuthority !== 'boolean') {
    throw new ConfigError(`${at}.attributeAuthority`, 'must be a boolean')
  }
  if (typeof options.keys === 'object' && (options.keys as unknown) !== null && 'discovery' in options.keys) {
    throw new ConfigError(`${at}.keys`, 'must be { jwks }, { jwksFile } or { jwksUrl }: a WIT issuer\'s keys are configured, never discovered')
  }
  return Object.freeze({
    trustDomain: options.trustDomain,
    issuer: options.issuer,
    // A SPIFFE bundle's `wit-svid` keys sign WITs; its `jwt-svid` keys never do.
    keys: createKeyStore(options.keys, `${at}.keys`, { ...context, keyUses: WIT_KEY_USES }),
    algorithms: algorithmSet(options.algorithms, `${at}.algorithms`),
    proofAlgorithms: algorithmSet(options.proofAlgorithms, `${at}.proofAlgorithms`),
    attributeAuthority: options.attributeAuthority === true,
    roles: roleList(options.roles, `${at}.roles`),
  })
}
