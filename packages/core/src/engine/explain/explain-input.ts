/**
 * The explain pass for one input: after the decision is made (by `checkInput`, untouched), walk the
 * same rule-table rows again with a tracing evaluation and say, per action, which rules were
 * considered, whether each held and why, which derived roles were active, and which rule decided.
 * Conditions are pure functions of the request, the globals and the check's fixed clock, so
 * evaluating them again gives the results the decision saw.
 */
import type { CelRequest } from '../../cel/index.js'
import type { CompiledParams } from '../../policy/compiled.js'
import { normalizeScope } from '../../policy/names.js'
import type { ExplainedAction, ExplainedDerivedRole, ExplainedResource, ExplainedRule } from '../../types.js'
import { appliesTo, celRequestOf, NO_MATCH, type CheckSettings } from '../check.js'
import { EvaluationContext } from '../evaluation.js'
import type { Binding, RowKind, RuleTable } from '../rule-table.js'
import type { ActionEffect, CheckInput, CheckOutput } from '../types.js'
import type { ExplainBudget } from './budget.js'
import { heldOf, traceCondition } from './trace-condition.js'

const DEFAULT_VERSION = 'default'
const ROW_KINDS: readonly RowKind[] = ['principal', 'resource']
const NO_CONSTANTS: Record<string, unknown> = Object.freeze({})
const NO_VARIABLES: Record<string, unknown> = Object.freeze({})

/** The derived role a row needs, from its condition-cache key (`derived_roles.<name>#<rule key>`). */
function derivedRoleOf(row: Binding): string | undefined {
  if (!row.hasDerivedRole || !row.evalKey.startsWith('derived_roles.')) return undefined
  return row.evalKey.slice('derived_roles.'.length, row.evalKey.indexOf('#'))
}

/** Words for a decision no rule made. */
function noteOf(decided: ActionEffect, rules: readonly ExplainedRule[]): string | undefined {
  if (decided.rule !== undefined) return undefined
  if (decided.policy === NO_MATCH) return rules.length === 0 ? 'no policy matched the resource kind, version and scope' : 'no rule matched: denied by default'
  if (decided.policy.startsWith('role.')) return 'a role policy of the principal does not allow this action'
  if (decided.policy === 'NO_MATCH_FOR_SCOPE_PERMISSIONS') return 'no rule allowed it in a scope that requires parental consent'
  return 'no rule matched: denied by default'
}

/** Walks one input's rows again, traced. */
class InputExplainer {
  private readonly ctx: EvaluationContext
  private readonly request: CelRequest
  private readonly variables = new Map<CompiledParams, Record<string, unknown>>()
  private readonly resourceScope: string
  private readonly resourceVersion: string

  constructor(
    private readonly table: RuleTable,
    private readonly input: CheckInput,
    private readonly settings: CheckSettings,
    now: () => Date,
    private readonly budget: ExplainBudget,
  ) {
    this.resourceScope = normalizeScope(input.resource.scope)
    this.resourceVersion = input.resource.policyVersion || DEFAULT_VERSION
    this.request = celRequestOf(input, normalizeScope(input.principal.scope), this.resourceScope)
    this.ctx = new EvaluationContext(this.request, settings.globals, now, settings.strictEvaluation)
  }

  private variablesOf(params: CompiledParams | undefined, failedAs: 'undefined' | 'null' = 'undefined'): Record<string, unknown> {
    if (params === undefined || params.variables.length === 0) return NO_VARIABLES
    let values = this.variables.get(params)
    if (values === undefined) {
      values = this.ctx.evaluateVariables(params, failedAs)
      this.variables.set(params, values)
    }
    return values
  }

  explain(output: CheckOutput): ExplainedResource {
    const { input, table, settings, budget } = this
    const { principal, resource } = input
    const plan = table.resourcePlan(resource.kind, this.resourceVersion, this.resourceScope, settings.lenientScopeSearch)
    const pplan = table.principalPlan(
      principal.id,
      principal.policyVersion || DEFAULT_VERSION,
      normalizeScope(principal.scope),
      resource.kind,
      this.resourceVersion,
      settings.lenientScopeSearch,
    )
    const roles = new Set<string>()
    for (const role of principal.roles) for (const r of table.withParentRoles(this.resourceScope, [role])) roles.add(r)

    // Derived roles per scope, as the decision computed them.
    const derivedRoles: ExplainedDerivedRole[] = []
    const activeByScope = new Map<string, { active: string[]; failed: string[] | undefined }>()
    for (const scope of plan.resourceScopes) {
      const active: string[] = []
      let failed: string[] | undefined
      for (const dr of plan.derivedRoles.get(scope) ?? []) {
        if (!appliesTo(dr.parentRoles, roles)) continue
        const vars = this.variablesOf(dr.params, settings.strictEvaluation ? 'undefined' : 'null')
        const condition = traceCondition(this.ctx, this.request, dr.condition, dr.params.constants, vars, budget, settings.strictEvaluation)
        const held = heldOf(condition, settings.strictEvaluation)
        if (held === 'error') (failed ??= []).push(dr.name)
        if (held === true) active.push(dr.name)
        if (derivedRoles.length < budget.limits.derivedRoles) derivedRoles.push({ name: dr.name, scope, active: held === true, condition })
        else budget.cut()
      }
      activeByScope.set(scope, { active: active.sort(), failed: failed?.sort() })
    }

    const actions: ExplainedAction[] = []
    for (const action of input.actions) {
      if (actions.length === budget.limits.actions) {
        budget.cut()
        break
      }
      const decided = Object.hasOwn(output.actions, action) ? output.actions[action] : undefined
      if (decided === undefined) continue
      const rules = this.rulesFor(action, plan.resourceScopes, pplan.principalScopes, plan.sanitizedResource, activeByScope, decided)
      actions.push({ action, effect: decided.effect, policy: decided.policy, scope: decided.scope, rule: decided.rule, note: noteOf(decided, rules), rules })
    }
    return {
      resource: { kind: resource.kind, id: resource.id, scope: resource.scope || undefined, policyVersion: resource.policyVersion || undefined },
      roles: [...roles],
      derivedRoles,
      actions,
    }
  }

  /** The rows of every kind, scope and role for one action, traced; the deciding one marked. */
  private rulesFor(
    action: string,
    resourceScopes: readonly string[],
    principalScopes: readonly string[],
    sanitizedResource: string,
    activeByScope: ReadonlyMap<string, { active: string[]; failed: string[] | undefined }>,
    decided: ActionEffect,
  ): ExplainedRule[] {
    const { input, table, budget } = this
    const rules: ExplainedRule[] = []
    const seen = new Set<string>()
    let marked = false
    for (const kind of ROW_KINDS) {
      const scopes = kind === 'principal' ? principalScopes : resourceScopes
      // Principal rules are role-agnostic: one pass covers every role.
      const roles = kind === 'principal' ? input.principal.roles.slice(0, 1) : input.principal.roles
      for (const role of roles) {
        for (const scope of scopes) {
          if (kind === 'resource') {
            const derived = activeByScope.get(scope)
            this.ctx.setEffectiveDerivedRoles(derived?.active ?? [], derived?.failed)
          }
          const rows = table.query(this.resourceVersion, sanitizedResource, scope, action, table.withParentRoles(this.resourceScope, [role]), kind, kind === 'principal' ? input.principal.id : '')
          for (const row of rows) {
            const derivedRole = derivedRoleOf(row)
            const key = `${row.originKey}#${row.name}#${row.effect ?? ''}#${derivedRole ?? ''}#${row.scope}`
            if (seen.has(key)) continue
            seen.add(key)
            const traced = this.traceRow(row, derivedRole, role, scope)
            // A rule whose condition failed under strict evaluation denies whatever its own effect.
            const isDecider =
              !marked &&
              decided.rule !== undefined &&
              row.ruleId === decided.rule &&
              (traced.matched === 'error' || (traced.matched && row.effect === decided.effect))
            if (isDecider) marked = true
            if (rules.length < budget.limits.rules || isDecider) rules.push(isDecider ? { ...traced, decided: true } : traced)
            else budget.cut()
          }
        }
      }
    }
    return rules
  }

  private traceRow(row: Binding, derivedRole: string | undefined, role: string, scope: string): ExplainedRule {
    const { ctx, request, budget, settings } = this
    const strict = settings.strictEvaluation
    let matched: boolean | 'error' = true
    let condition
    if (row.derivedRoleCondition !== undefined) {
      const drParams = row.derivedRoleParams
      const drTrace = traceCondition(ctx, request, row.derivedRoleCondition, drParams?.constants ?? NO_CONSTANTS, this.variablesOf(drParams), budget, strict)
      matched = heldOf(drTrace, strict)
      if (matched !== true) condition = drTrace
    }
    if (matched === true) {
      condition = traceCondition(ctx, request, row.condition, row.params?.constants ?? NO_CONSTANTS, this.variablesOf(row.params), budget, strict)
      matched = heldOf(condition, strict)
    }
    return {
      policy: row.originKey,
      rule: row.name,
      scope,
      effect: row.effect,
      role: row.kind === 'principal' ? '*' : role,
      derivedRole,
      matched,
      condition,
    }
  }
}

/**
 * Explains the decision `output` made for `input`.
 *
 * @param table - the rule table that decided
 * @param now - the clock the decision used (the same instant)
 */
export function explainInput(table: RuleTable, input: CheckInput, output: CheckOutput, settings: CheckSettings, now: () => Date, budget: ExplainBudget): ExplainedResource {
  return new InputExplainer(table, input, settings, now, budget).explain(output)
}
