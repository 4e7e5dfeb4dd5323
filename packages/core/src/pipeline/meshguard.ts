/**
 * `createMeshguard`: engine + identity + guard from one configuration, for services and examples
 * that want the defaults wired together.
 */
import type { AuditLog } from '../audit/index.js'
import { ConfigError } from '../errors.js'
import { EmbeddedEngine, type EmbeddedEngineOptions } from '../engine/index.js'
import {
  createIdentityVerifier,
  createWorkloadIdentity,
  recordTrustEvents,
  TrustBundle,
  type IdentityVerifier,
  type IdentityVerifierOptions,
  type WorkloadIdentity,
  type WorkloadIdentityOptions,
} from '../identity/index.js'
import type { CompiledPolicySet } from '../policy/index.js'
import { watchPolicies, type PolicyWatcher, type WatchPoliciesOptions } from '../reload/index.js'
import type { Telemetry } from '../telemetry/index.js'
import type { DecisionEngine } from '../types.js'
import { refuseDevelopmentTrustInProduction } from './development-trust.js'
import { createGuard } from './guard.js'
import { openShadowPolicies, type ShadowPolicies, type ShadowPoliciesOptions } from './shadow-policies.js'
import type { Guard, GuardOptions } from './types.js'

/** Options of {@link createMeshguard}. */
export interface MeshguardConfig {
  /** This service's name (audit records, spans, `WWW-Authenticate` realm). */
  service: string
  /** A policy directory (loaded into the embedded engine), or a ready engine such as `RemoteEngine`. */
  policies: string | DecisionEngine
  /** Options of the embedded engine, when `policies` is a directory. */
  engine?: EmbeddedEngineOptions | undefined
  /** Inbound identity: verifier options (audience + trust bundle) or a ready verifier. */
  identity: IdentityVerifierOptions | IdentityVerifier
  /** Outbound identity of this service (mints tokens for callees), when it calls other services. */
  workload?: WorkloadIdentityOptions | undefined
  /**
   * Audit log (`createAuditLog({ sinks })`). Left out, the service runs without one and says so once
   * at start-up (a process warning, code `MESHGUARD_NO_AUDIT_LOG`); `false` runs without one
   * deliberately and quietly. @defaultValue none, with a start-up warning
   */
  audit?: AuditLog | false | undefined
  /**
   * Telemetry. When given, the guard's spans and metrics go through it, the policy digest is
   * reported through the `meshguard.policy.digest` gauge, and the trust bundle built from
   * `identity` options counts JWKS refreshes and stale serves. @defaultValue none
   */
  telemetry?: Telemetry | undefined
  /**
   * Hot-reload the policy directory (`policies` must be a directory): `true`, or `watchPolicies`
   * options. Reloads are counted through `telemetry`. Stop it with {@link Meshguard.close}.
   * @defaultValue false
   */
  watch?: boolean | Omit<Partial<WatchPoliciesOptions<CompiledPolicySet>>, 'load' | 'telemetry'> | undefined
  /**
   * A candidate policy directory decided beside the live one (dry run): the live decision is
   * enforced, disagreements are recorded. A candidate that does not compile is reported (a process
   * warning, code `MESHGUARD_SHADOW_POLICY_ERROR`, and `guard.onInternalError`) and never stops
   * the service; with `watch`, a bad reload keeps the last good candidate. @defaultValue none
   */
  shadow?: ShadowPoliciesOptions | undefined
  /** Remaining guard options (actor default, problem bodies, ...). */
  guard?: Pick<GuardOptions, 'defaultActor' | 'problem' | 'onInternalError' | 'context' | 'explain'> | undefined
}

/** What {@link createMeshguard} builds. */
export interface Meshguard {
  /** The guard adapters take. */
  readonly guard: Guard
  /** The engine deciding. */
  readonly engine: DecisionEngine
  /** The inbound verifier. */
  readonly verifier: IdentityVerifier
  /** The outbound identity, when `workload` was configured. */
  readonly workload: WorkloadIdentity | undefined
  /** The policy watcher, when `watch` was set. */
  readonly watcher: PolicyWatcher | undefined
  /** The candidate policies, when `shadow` was set. */
  readonly shadow: ShadowPolicies | undefined
  /** Stops the policy watcher and the policy-digest gauge. The guard keeps answering. */
  close(): Promise<void>
}

const isVerifier = (value: IdentityVerifierOptions | IdentityVerifier): value is IdentityVerifier =>
  typeof (value as Partial<IdentityVerifier>).verify === 'function'

const isEngine = (value: unknown): value is DecisionEngine =>
  typeof value === 'object' && value !== null && typeof (value as Partial<DecisionEngine>).checkResources === 'function'

/** Verifier options whose trust bundle (when built here) also reports its events to telemetry. */
function withTrustMetrics(options: IdentityVerifierOptions, telemetry: Telemetry | undefined): IdentityVerifierOptions {
  if (telemetry === undefined || options.trust instanceof TrustBundle || typeof options.trust !== 'object' || (options.trust as unknown) === null) {
    return options
  }
  const record = recordTrustEvents(telemetry)
  const own = options.trust.onEvent
  const onEvent = own === undefined ? record : (event: Parameters<typeof record>[0]): void => {
    record(event)
    own(event)
  }
  return { ...options, trust: { ...options.trust, onEvent } }
}

/** Services already warned about running without an audit log (one warning per service and process). */
const warnedNoAudit = new Set<string>()

/** Says once that decisions of this service are not recorded, because nobody asked for that. */
function warnNoAudit(service: string): void {
  if (warnedNoAudit.has(service)) return
  warnedNoAudit.add(service)
  process.emitWarning(
    `meshguard: service '${service}' has no audit log, so its decisions are not recorded. ` +
      'Pass `audit: createAuditLog({ sinks: [stdoutSink()] })` to record them, or `audit: false` to run without one quietly.',
    { code: 'MESHGUARD_NO_AUDIT_LOG' },
  )
}

/** Loads the candidate directory; its failures are reported, never thrown. */
function openShadow(config: MeshguardConfig): Promise<ShadowPolicies> {
  const options = config.shadow as ShadowPoliciesOptions
  if (typeof options !== 'object' || (options as unknown) === null || typeof options.policies !== 'string') {
    throw new ConfigError('shadow.policies', 'must be a candidate policy directory')
  }
  return openShadowPolicies(options, config.engine, (error) => {
    process.emitWarning(`meshguard: the shadow policies in ${options.policies} are not in force: ${error.message}`, { code: 'MESHGUARD_SHADOW_POLICY_ERROR' })
    try {
      config.guard?.onInternalError?.(error)
    } catch {
      // An observer that throws must not stop the service.
    }
  })
}

/** Whether an engine can take a compiled policy set (the embedded engine). */
const isSwappable = (engine: DecisionEngine): engine is DecisionEngine & { swap(set: CompiledPolicySet): void } =>
  typeof (engine as { swap?: unknown }).swap === 'function'

/**
 * Builds the engine, the identity verifier (and outbound identity) and the guard from one config.
 * A policy directory that fails to load rejects with a `PolicyError` naming file and line.
 *
 * @throws `ConfigError` naming the bad option (also: trust options that list the development actor
 *   issuer while NODE_ENV=production); `PolicyError` for invalid policies.
 * @example
 * ```ts
 * const { guard } = await createMeshguard({
 *   service: 'review-service',
 *   policies: './policies',
 *   identity: { audience: 'spiffe://example.org/ns/hr/sa/review-service', trust },
 * })
 * app.get('/reviews/:id', authorize(guard, { resource: 'review', action: 'read' }), handler)
 * ```
 */
export async function createMeshguard(config: MeshguardConfig): Promise<Meshguard> {
  if (typeof config !== 'object' || (config as unknown) === null) throw new ConfigError('config', 'must be an object')
  if (typeof config.identity !== 'object' || (config.identity as unknown) === null) throw new ConfigError('identity', 'is required')
  const { telemetry, watch } = config
  if (watch !== undefined && typeof watch !== 'boolean' && (typeof watch !== 'object' || (watch as unknown) === null)) {
    throw new ConfigError('watch', 'must be a boolean or watchPolicies options')
  }
  if (watch && typeof config.policies !== 'string') throw new ConfigError('watch', 'needs `policies` to be a policy directory')
  if (!isVerifier(config.identity)) refuseDevelopmentTrustInProduction(config.identity)
  const verifier = isVerifier(config.identity) ? config.identity : createIdentityVerifier(withTrustMetrics(config.identity, telemetry))
  const workload = config.workload === undefined ? undefined : createWorkloadIdentity(config.workload)
  let engine: DecisionEngine
  if (typeof config.policies === 'string') engine = await EmbeddedEngine.fromDirectory(config.policies, config.engine)
  else if (isEngine(config.policies)) engine = config.policies
  else throw new ConfigError('policies', 'must be a policy directory or a DecisionEngine')
  let watcher: PolicyWatcher | undefined
  if (watch && typeof config.policies === 'string' && isSwappable(engine)) {
    watcher = watchPolicies(engine, config.policies, { ...(watch === true ? {} : watch), telemetry })
  }
  const stopDigest = telemetry?.observePolicyDigest(engine)
  if (config.audit === undefined) warnNoAudit(config.service)
  const shadow = config.shadow === undefined ? undefined : await openShadow(config)
  const guard = createGuard({
    ...config.guard,
    shadow: shadow === undefined ? undefined : { engine: shadow.current },
    engine,
    identity: verifier,
    service: config.service,
    audit: config.audit === false ? undefined : config.audit,
    telemetry,
  })
  async function close(): Promise<void> {
    stopDigest?.()
    await watcher?.close()
    await shadow?.close()
  }
  return Object.freeze({ guard, engine, verifier, workload, watcher, shadow, close })
}
