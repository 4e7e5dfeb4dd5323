/**
 * The embedded, in-process decision engine: Cerbos CheckResources semantics over a compiled policy
 * set, with an atomic swap for hot reload.
 */
import { DecisionMemo, singleCheckOf } from './decision-memo.js'
import { ConfigError, toMeshguardError } from '../errors.js'
import { compilePolicies, type CompileOptions, type PolicyObjectSource, type PolicySource } from '../policy/compile.js'
import type { CompiledPolicySet } from '../policy/compiled.js'
import { loadPolicyDirectory } from '../policy/disk-store.js'
import type { ActionMeta, CheckResourceResult, CheckResourcesRequest, DecisionExplanation, CheckResourcesResponse, DecisionEngine } from '../types.js'
import { checkInput, type CheckSettings } from './check.js'
import { toCheckInputs, validateCheckInputs } from './request.js'
import { RuleTable } from './rule-table.js'
import type { CheckInput, CheckOutput, EmbeddedEngineOptions, SchemaEnforcement } from './types.js'
import { setOwn } from '../internal/own.js'
import { planInput } from './plan/planner.js'
import { validatePlanRequest } from './plan/request.js'
import type { PlanResourcesRequest, PlanResourcesResponse } from './plan/types.js'
import { DEFAULT_EXPLAIN_LIMITS, explainInputs, type ExplainedCheck, type ExplainLimits } from './explain/index.js'

interface ActiveSet {
  readonly set: CompiledPolicySet
  readonly table: RuleTable
  /** Remembered answers of this set (none when `rememberDecisions` is off). */
  readonly memo: DecisionMemo | undefined
}

const ENFORCEMENTS: readonly SchemaEnforcement[] = ['none', 'warn', 'reject']

function assertPolicySet(set: unknown): asserts set is CompiledPolicySet {
  const s = set as Partial<CompiledPolicySet> | undefined
  if (typeof s !== 'object' || (s as unknown) === null || !Array.isArray(s.policies) || typeof s.digest !== 'string' || typeof s.schemas?.validator !== 'function') {
    throw new ConfigError('policySet', 'must be a compiled policy set (from loadPolicyDirectory or compilePolicies)')
  }
}

function settingsFrom(options: EmbeddedEngineOptions): CheckSettings & { now: () => Date; rememberDecisions: boolean } {
  const enforcement = options.schemaEnforcement ?? 'none'
  if (!ENFORCEMENTS.includes(enforcement)) throw new ConfigError('schemaEnforcement', `must be one of ${ENFORCEMENTS.join(', ')}`)
  if (options.globals !== undefined && (typeof options.globals !== 'object' || (options.globals as unknown) === null || Array.isArray(options.globals))) {
    throw new ConfigError('globals', 'must be an object')
  }
  if (options.now !== undefined && typeof options.now !== 'function') throw new ConfigError('now', 'must be a function returning a Date')
  if (options.rememberDecisions !== undefined && typeof options.rememberDecisions !== 'boolean') {
    throw new ConfigError('rememberDecisions', 'must be a boolean')
  }
  return {
    lenientScopeSearch: options.lenientScopeSearch === true,
    strictEvaluation: options.strictEvaluation === true,
    schemaEnforcement: enforcement,
    globals: options.globals ?? {},
    now: options.now ?? (() => new Date()),
    rememberDecisions: options.rememberDecisions ?? true,
  }
}

/** The clock of one check call: the engine clock is read at most once, on first use, and says whether it was. */
class CallClock {
  #value: Date | undefined
  /** Whether anything asked for the time. */
  read = false
  constructor(private readonly source: () => Date) {}
  readonly now = (): Date => {
    this.read = true
    return (this.#value ??= this.source())
  }
}

type AuditTrail = Readonly<Record<string, { attributes: Record<string, string> }>>
const auditTrails = new WeakMap<Readonly<Record<string, string>>, AuditTrail>()

/** The response's `effectivePolicies` for an output's (shared, immutable) policy → file record. */
function auditTrailOf(policies: Readonly<Record<string, string>>): AuditTrail {
  let trail = auditTrails.get(policies)
  if (!trail) {
    const out: Record<string, { attributes: Record<string, string> }> = {}
    for (const key in policies) out[key] = Object.freeze({ attributes: Object.freeze({ driver: 'disk', source: policies[key]! }) })
    trail = Object.freeze(out)
    auditTrails.set(policies, trail)
  }
  return trail
}

/** Builds the public per-resource result from an engine output. */
function toResult(input: CheckInput, output: CheckOutput, includeMeta: boolean): CheckResourceResult {
  const actions: CheckResourceResult['actions'] = {}
  let metaActions: Record<string, ActionMeta> | undefined
  if (includeMeta) metaActions = {}
  for (const action in output.actions) {
    const e = output.actions[action]!
    setOwn(actions, action, e.effect)
    if (metaActions) setOwn(metaActions, action, e.rule === undefined ? { matchedPolicy: e.policy, matchedScope: e.scope } : { matchedPolicy: e.policy, matchedScope: e.scope, matchedRule: e.rule })
  }
  return {
    resource: {
      id: input.resource.id,
      kind: input.resource.kind,
      policyVersion: input.resource.policyVersion ?? '',
      scope: input.resource.scope ?? '',
    },
    actions,
    validationErrors: output.validationErrors,
    // The output's own array (built for this check alone): sorted in place, not copied.
    meta: metaActions ? { actions: metaActions, effectiveDerivedRoles: output.effectiveDerivedRoles.sort() } : undefined,
    outputs: output.outputs.length === 0 ? [] : output.outputs.map((o) => ({ src: o.src, val: o.error !== undefined ? { error: o.error } : o.val })),
  }
}

/** The response parts (all but the request id) for decided inputs. */
function answerOf(inputs: readonly CheckInput[], outputs: readonly CheckOutput[], includeMeta: boolean): Omit<CheckResourcesResponse, 'requestId'> {
  const results: CheckResourceResult[] = []
  let errors: Set<string> | undefined
  const trails: AuditTrail[] = []
  for (let i = 0; i < inputs.length; i++) {
    const output = outputs[i] as CheckOutput
    results.push(toResult(inputs[i] as CheckInput, output, includeMeta))
    for (const e of output.evaluationErrors) (errors ??= new Set()).add(`${e.expression}: ${e.message}`)
    trails.push(auditTrailOf(output.effectivePolicies))
  }
  return {
    results,
    evaluationErrors: errors ? [...errors] : undefined,
    // One resource: its (shared, frozen) trail as it is; several: merged into one record.
    effectivePolicies: trails.length === 1 ? trails[0]! : (Object.assign({}, ...trails) as AuditTrail),
  }
}

/**
 * An in-process engine that decides CheckResources requests exactly as a Cerbos 0.55 PDP would,
 * from a compiled policy set. Checks are synchronous under the hood; `checkResources` is the async
 * {@link DecisionEngine} form.
 *
 * @example
 * ```ts
 * const engine = await EmbeddedEngine.fromDirectory('./policies', { globals: { env: 'prod' } })
 * const res = engine.checkResourcesSync({
 *   principal: { id: 'svc-a', roles: ['workload'], attr: { act: { user: { attr: { department: 'x' } } } } },
 *   resources: [{ resource: { kind: 'review', id: 'r1', attr: { department: 'x' } }, actions: ['read'] }],
 * })
 * res.results[0]?.actions.read // 'EFFECT_ALLOW'
 * ```
 */
export class EmbeddedEngine implements DecisionEngine {
  /** Always `embedded`. */
  readonly kind = 'embedded' as const
  private active: ActiveSet
  private readonly settings: CheckSettings & { now: () => Date; rememberDecisions: boolean }
  private readonly directory: string | undefined

  /**
   * @param set - a compiled policy set (from `loadPolicyDirectory` or `compilePolicies`)
   * @param options - engine options
   * @param directory - the directory `reload()` re-reads, when the set came from disk
   * @throws ConfigError on invalid options
   */
  constructor(set: CompiledPolicySet, options: EmbeddedEngineOptions = {}, directory?: string) {
    assertPolicySet(set)
    this.settings = settingsFrom(options)
    this.active = this.activate(set)
    this.directory = directory
  }

  /**
   * Loads and compiles a policy directory.
   *
   * @throws PolicyError listing every issue (file:line) when the policies do not compile
   */
  static async fromDirectory(dir: string, options: EmbeddedEngineOptions = {}): Promise<EmbeddedEngine> {
    return new EmbeddedEngine(await loadPolicyDirectory(dir), options, dir)
  }

  /**
   * Compiles in-memory policies (text or parsed objects).
   *
   * @throws PolicyError listing every issue when the policies do not compile
   */
  static fromSources(sources: ReadonlyArray<PolicySource | PolicyObjectSource>, options: EmbeddedEngineOptions = {}, compileOptions: CompileOptions = {}): EmbeddedEngine {
    return new EmbeddedEngine(compilePolicies(sources, compileOptions), options)
  }

  /** sha256 (hex) of the policy set in force. */
  get policyDigest(): string {
    return this.active.set.digest
  }

  /** The compiled policy set in force. */
  get policySet(): CompiledPolicySet {
    return this.active.set
  }


  /**
   * Replaces the policy set atomically: checks already running finish on the old set.
   *
   * @throws ConfigError when `set` is not a compiled policy set
   */
  swap(set: CompiledPolicySet): void {
    assertPolicySet(set)
    this.active = this.activate(set)
  }

  /** A set ready to decide with: its rule table and an empty memo. */
  private activate(set: CompiledPolicySet): ActiveSet {
    return { set, table: new RuleTable(set), memo: this.settings.rememberDecisions ? new DecisionMemo() : undefined }
  }

  /**
   * Re-reads the directory the engine was created from and swaps it in. On failure the last good
   * set stays in force and the error is thrown.
   *
   * @returns the digest of the new set
   * @throws PolicyError when the new policies do not compile (the old set is kept)
   * @throws ConfigError when the engine was not created from a directory
   */
  async reload(): Promise<string> {
    if (this.directory === undefined) throw new ConfigError('directory', 'reload() needs an engine created with EmbeddedEngine.fromDirectory')
    const set = await loadPolicyDirectory(this.directory)
    this.swap(set)
    return set.digest
  }

  /**
   * Decides engine-level inputs and returns Cerbos `CheckOutput`s (attribution, outputs,
   * evaluation errors). All inputs of one call share the same `now()`.
   *
   * @throws RequestError when an input is malformed; InternalError on an unexpected failure (never an allow)
   */
  checkInputs(inputs: readonly CheckInput[]): CheckOutput[] {
    const valid = validateCheckInputs(inputs)
    const { set, table } = this.active
    const { now } = new CallClock(this.settings.now)
    try {
      return valid.map((input) => checkInput(table, set, input, this.settings, now))
    } catch (err) {
      throw toMeshguardError(err)
    }
  }

  /**
   * Decides every action on every resource of a CheckResources request, synchronously.
   *
   * @throws RequestError (`ERR_AUTHZ_REQUEST_INVALID`) when the request is malformed; never allows on failure
   */
  checkResourcesSync(request: CheckResourcesRequest): CheckResourcesResponse {
    const active = this.active
    const single = active.memo === undefined ? undefined : singleCheckOf(request)
    const remembered = single === undefined ? undefined : active.memo?.lookup(single.principal, single.key, single.resource)
    if (remembered !== undefined) {
      // Written out rather than spread: this is the path of every repeated check.
      const { results, evaluationErrors, effectivePolicies } = remembered
      return { requestId: request.requestId ?? '', results, evaluationErrors, effectivePolicies }
    }
    const inputs = toCheckInputs(request)
    const { set, table } = active
    // Only conditions that use the clock read it: an answer that never did can be reused.
    const clock = new CallClock(this.settings.now)
    const { now } = clock
    const outputs: CheckOutput[] = []
    for (const input of inputs) {
      try {
        outputs.push(checkInput(table, set, input, this.settings, now))
      } catch (err) {
        throw toMeshguardError(err)
      }
    }
    const answer = answerOf(inputs, outputs, request.includeMeta === true)
    if (single !== undefined && !clock.read) active.memo?.offer(single.principal, single.key, single.resource, answer)
    return { requestId: request.requestId ?? '', ...answer }
  }

  /**
   * Decides a CheckResources request and explains it: per resource and action, the rules
   * considered, the derived roles activated, each condition with the values it read, and the rule
   * that decided. A separate, slower evaluation: checks never pay for it. The response is the one
   * `checkResourcesSync` gives (it is decided by the same code with the same clock).
   *
   * @param limits - size limits of the explanation (see `DEFAULT_EXPLAIN_LIMITS`)
   * @throws RequestError when the request is malformed
   * @example
   * ```ts
   * const { response, explanation } = engine.explainSync(request)
   * console.log(explanation.resources[0]?.actions[0]?.rule)
   * ```
   */
  explainSync(request: CheckResourcesRequest, limits: Partial<ExplainLimits> = {}): { response: CheckResourcesResponse; explanation: DecisionExplanation } {
    const inputs = toCheckInputs(request)
    const { set, table } = this.active
    const { now } = new CallClock(this.settings.now)
    let explained: ExplainedCheck
    try {
      explained = explainInputs(table, set, inputs, this.settings, now, { ...DEFAULT_EXPLAIN_LIMITS, ...limits })
    } catch (err) {
      throw toMeshguardError(err)
    }
    const response = { requestId: request.requestId ?? '', ...answerOf(inputs, explained.outputs, request.includeMeta === true) }
    return { response, explanation: explained.explanation }
  }

  /**
   * Plans a list query (Cerbos PlanResources): the condition on resource attributes under which
   * the principal may perform every requested action, as Cerbos 0.55 computes it.
   *
   * @example
   * ```ts
   * const plan = engine.planResourcesSync({ principal, resource: { kind: 'review' }, actions: ['read'] })
   * if (plan.filter.kind === 'KIND_CONDITIONAL') console.log(plan.filter.condition)
   * ```
   * @throws RequestError (`ERR_AUTHZ_REQUEST_INVALID`) when the request is malformed
   */
  planResourcesSync(request: PlanResourcesRequest): PlanResourcesResponse {
    const valid = validatePlanRequest(request)
    const { set, table } = this.active
    let output
    try {
      output = planInput(table, set, valid.input, this.settings, this.settings.now())
    } catch (err) {
      throw toMeshguardError(err)
    }
    const response: PlanResourcesResponse = {
      requestId: valid.requestId,
      resourceKind: valid.input.resource.kind,
      policyVersion: valid.input.resource.policyVersion,
      filter: output.filter,
      validationErrors: output.validationErrors,
    }
    if (valid.singleAction !== undefined) response.action = valid.singleAction
    else response.actions = [...valid.input.actions]
    if (valid.includeMeta) {
      response.meta =
        valid.singleAction !== undefined
          ? { filterDebug: output.filterDebug, matchedScope: output.matchedScopes[valid.singleAction] ?? '' }
          : { filterDebug: output.filterDebug, matchedScopes: output.matchedScopes }
    }
    return response
  }

  /** {@link EmbeddedEngine.planResourcesSync}, asynchronously. */
  async planResources(request: PlanResourcesRequest): Promise<PlanResourcesResponse> {
    return this.planResourcesSync(request)
  }

  /** {@inheritDoc DecisionEngine.checkResources} */
  async checkResources(request: CheckResourcesRequest): Promise<CheckResourcesResponse> {
    return this.checkResourcesSync(request)
  }
}

