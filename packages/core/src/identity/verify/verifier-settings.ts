/** The options of one identity verifier, validated once. */
import { ConfigError } from '../../errors.js'
import { DEFAULT_ACTOR_HEADER, DEFAULT_TRANSACTION_HEADER, SINGLE_VALUE_HEADERS } from '../headers.js'
import { TXN_TOKEN_HEADER } from '../txn-wire.js'
import { defaultActorMapping, defaultWorkloadMapping } from './principal.js'
import { ReplayGuard } from './replay.js'
import { RevocationGuard } from './revocation.js'
import { TrustBundle } from '../trust/trust-bundle.js'
import type { ClaimMappingOptions, IdentityVerifierOptions } from './types.js'
import { resolveWimseSettings, type WimseSettings } from './wimse-settings.js'

/** A verifier's options after validation, with every default applied. */
export interface VerifierSettings {
  readonly trust: TrustBundle
  readonly audiences: ReadonlySet<string>
  readonly audienceMode: 'exact' | 'contains'
  readonly actorHeader: string
  readonly transactionHeader: string
  /** The header a Txn-Token arrives in. */
  readonly txnTokenHeader: string
  readonly tolerance: number
  readonly maxWorkloadLifetime: number
  readonly maxTokenBytes: number
  /** A header holds the token plus its scheme and some whitespace. */
  readonly maxHeaderBytes: number
  readonly maxActDepth: number
  readonly cacheSize: number
  /** Check signatures that are not remembered on the libuv threadpool. */
  readonly offload: boolean
  readonly clock: () => number
  readonly mapWorkload: NonNullable<ClaimMappingOptions['mapWorkload']>
  readonly mapActor: NonNullable<ClaimMappingOptions['mapActor']>
  /** The default actor mapping is a pure function of the claims (a custom one may not be). */
  readonly mapsActorPurely: boolean
  /** One-time use of workload tokens, when on. */
  readonly replay: ReplayGuard | undefined
  /** Revocation checks, when configured. */
  readonly revocation: RevocationGuard | undefined
  /** WIMSE receiving (WIT + WPT), when the trust bundle has workload issuers. */
  readonly wimse: WimseSettings | undefined
  /** One-time use of WPTs, by `(sub, jti)`: always on when `wimse` is. */
  readonly wptReplay: ReplayGuard | undefined
  /** The default workload mapping is a pure function of its input (a custom one may not be). */
  readonly mapsWorkloadPurely: boolean
}

function positiveInteger(value: number | undefined, fallback: number, option: string, min = 1): number {
  if (value === undefined) return fallback
  if (!Number.isInteger(value) || value < min) throw new ConfigError(option, `must be an integer ≥ ${min}`)
  return value
}

/**
 * Validates verifier options once.
 *
 * @throws ConfigError naming the option (`identity.audience`, `identity.clockTolerance`, …)
 */
export function resolveVerifierSettings(options: IdentityVerifierOptions): VerifierSettings {
  if (typeof options !== 'object' || (options as unknown) === null) throw new ConfigError('identity', 'must be an object')
  const trust = options.trust instanceof TrustBundle ? options.trust : new TrustBundle(options.trust)
  if (trust.acceptsWorkloadProofs && options.wimse === undefined) {
    throw new ConfigError('identity.wimse', 'is required with trust.workloadIssuers: name this service\'s origins (the WPT "aud")')
  }
  if (!trust.acceptsWorkloadProofs && options.wimse !== undefined) {
    throw new ConfigError('trust.workloadIssuers', 'must name at least one trust domain\'s WIT issuer when identity.wimse is set')
  }
  const wimse = options.wimse === undefined ? undefined : resolveWimseSettings(options.wimse)
  // A WPT-only service has no self-signed audience; its origins name it (replay keys).
  const audiences = options.audience === undefined && wimse !== undefined && !wimse.acceptBearer
    ? [...wimse.calleeNames]
    : typeof options.audience === 'string' ? [options.audience] : options.audience
  if (!Array.isArray(audiences) || audiences.length === 0 || audiences.some((a) => typeof a !== 'string' || a === '')) {
    throw new ConfigError('identity.audience', 'must name this service')
  }
  const audienceMode = options.audienceMode ?? 'exact'
  if (audienceMode !== 'exact' && (audienceMode as string) !== 'contains') {
    throw new ConfigError('identity.audienceMode', 'must be "exact" or "contains"')
  }
  const actorHeader = (options.actorHeader ?? DEFAULT_ACTOR_HEADER).toLowerCase()
  const transactionHeader = (options.transactionHeader ?? DEFAULT_TRANSACTION_HEADER).toLowerCase()
  if (actorHeader === 'authorization' || actorHeader === transactionHeader) {
    throw new ConfigError('identity.actorHeader', 'must be its own header')
  }
  // Node keeps one value of these (or joins cookies with "; "): a duplicate could slip through unseen.
  if (SINGLE_VALUE_HEADERS.has(actorHeader)) throw new ConfigError('identity.actorHeader', 'must be a header Node keeps every value of')
  const txnTokenHeader = (options.txnTokenHeader ?? TXN_TOKEN_HEADER).toLowerCase()
  if (txnTokenHeader === 'authorization' || txnTokenHeader === actorHeader || txnTokenHeader === transactionHeader || SINGLE_VALUE_HEADERS.has(txnTokenHeader)) {
    throw new ConfigError('identity.txnTokenHeader', 'must be its own header, one Node keeps every value of')
  }
  if (SINGLE_VALUE_HEADERS.has(transactionHeader)) {
    throw new ConfigError('identity.transactionHeader', 'must be a header Node keeps every value of')
  }
  if (wimse !== undefined && wimse.otherTokens.some((name) => name === actorHeader || name === txnTokenHeader || name === transactionHeader)) {
    throw new ConfigError('identity.wimse.otherTokens', 'must not name the actor, Txn-Token or transaction id header')
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
  if (signatureCheck !== 'threadpool' && (signatureCheck as string) !== 'inline') {
    throw new ConfigError('identity.signatureCheck', 'must be "threadpool" or "inline"')
  }
  const offload = signatureCheck === 'threadpool'
  const clock = options.clock ?? Date.now
  const claims = options.claims ?? {}
  const mapWorkload = claims.mapWorkload ?? defaultWorkloadMapping(claims)
  const mapActor = claims.mapActor ?? defaultActorMapping(claims)

  return Object.freeze({
    trust,
    audiences: new Set(audiences),
    audienceMode,
    actorHeader,
    transactionHeader,
    txnTokenHeader,
    tolerance,
    maxWorkloadLifetime,
    maxTokenBytes,
    maxHeaderBytes,
    maxActDepth,
    cacheSize,
    offload,
    clock,
    mapWorkload,
    mapActor,
    mapsActorPurely: claims.mapActor === undefined,
    replay: options.replay === undefined ? undefined : new ReplayGuard(options.replay, new Set(audiences), tolerance * 1000),
    revocation: options.revocation === undefined ? undefined : new RevocationGuard(options.revocation, { clock, emit: (event) => trust.report(event) }),
    wimse,
    wptReplay: wimse === undefined ? undefined : new ReplayGuard(options.replay ?? {}, wimse.calleeNames, wimse.skew * 1000),
    mapsWorkloadPurely: claims.mapWorkload === undefined,
  })
}
