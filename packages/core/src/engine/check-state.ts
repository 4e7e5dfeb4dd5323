/**
 * What one check carries from step to step: the plans and the input it decides, and what it has
 * learnt so far (variables, conditions and derived roles already evaluated, rules consulted,
 * outputs). One object per check, so the steps are plain functions that share no closures.
 */
import type { CompiledCondition, CompiledParams } from '../policy/compiled.js'
import type { Effect } from '../types.js'
import type { EvaluationContext } from './evaluation.js'
import type { PrincipalPlan, ResourcePlan } from './plans.js'
import type { RuleTable } from './rule-table.js'
import type { CheckInput, CheckOutputEntry } from './types.js'

/** A decision in the making: Cerbos' `EffectInfo` plus the rule that decided. */
export interface EffectInfo {
  effect: Effect | 'NO_MATCH'
  policy: string
  scope: string
  /** `<policy key>#<rule name>` of the rule that decided; `''` when none did (no match, a synthesised role-policy denial). */
  rule: string
}

/** Derived roles of one scope: the active ones and (strict mode) those whose condition failed. */
export interface ScopedRoles {
  readonly active: readonly string[]
  readonly failed: readonly string[] | undefined
}

const NO_VARIABLES: Record<string, unknown> = Object.freeze({})

/** The state of one check (fields only: the steps live beside the decision loop in check.ts). */
export class InputCheck {
  readonly outputs: CheckOutputEntry[] = []
  /** Derived roles active in any scope visited, in the order first seen. */
  readonly effectiveDerivedRoles: string[] = []
  /** Keys of the policies whose rows were read, in the order first read. */
  readonly consulted: string[] = []
  /** Rule-row variables by parameters (failed variables read as errors). */
  varCache: Map<CompiledParams, Record<string, unknown>> | undefined = undefined
  /** Derived-role scope-pass variables (failed variables read as null outside strict mode). */
  drVarCache: Map<CompiledParams, Record<string, unknown>> | undefined = undefined
  /** Cerbos' condition cache: rows of one rule share an evaluation key. */
  conditionCache: Map<string, boolean> | undefined = undefined
  /** Pure derived-role conditions already answered in the scope pass. */
  drConditionMemo: Map<CompiledCondition, boolean> | undefined = undefined
  // Most checks visit one scope: its derived roles need no Map.
  firstScope = ''
  firstScopeRoles: ScopedRoles | undefined = undefined
  scopedDerivedRoles: Map<string, ScopedRoles> | undefined = undefined
  /** The scope walk of one role: whether an allow held (and which rule) in the scopes walked so far. */
  hasAllow = false
  allowRule = ''
  /** Set when a condition failed to evaluate in strict mode: the action's decision. */
  failure: EffectInfo | undefined = undefined

  /**
   * @param parentSet - the principal's roles and their role-policy ancestors
   */
  constructor(
    readonly table: RuleTable,
    readonly input: CheckInput,
    readonly plan: ResourcePlan,
    readonly pplan: PrincipalPlan,
    readonly ctx: EvaluationContext,
    readonly resourceScope: string,
    readonly resourceVersion: string,
    readonly parentSet: ReadonlySet<string>,
    readonly strict: boolean,
  ) {}
}

/** The variables of a rule row's parameters, evaluated once per check. */
export function variablesOf(c: InputCheck, params: CompiledParams): Record<string, unknown> {
  if (params.variables.length === 0) return NO_VARIABLES
  let v = c.varCache?.get(params)
  if (!v) {
    v = c.ctx.evaluateVariables(params, 'undefined')
    ;(c.varCache ??= new Map()).set(params, v)
  }
  return v
}

/** The variables of a derived role's parameters for the scope pass, evaluated once per check. */
export function derivedRoleVariablesOf(c: InputCheck, params: CompiledParams): Record<string, unknown> {
  if (params.variables.length === 0) return NO_VARIABLES
  let v = c.drVarCache?.get(params)
  if (!v) {
    v = c.ctx.evaluateVariables(params, c.strict ? 'undefined' : 'null')
    ;(c.drVarCache ??= new Map()).set(params, v)
  }
  return v
}
