/**
 * The decision procedure for one input, following Cerbos' rule-table evaluation: principal
 * policies first (role-agnostic), then resource policies per principal role; scopes walked from the
 * most specific to the root; role-policy denials, derived roles, scope permissions, outputs and
 * swallowed CEL errors exactly as Cerbos 0.55 treats them.
 */
import type { CelRequest } from '../cel/index.js'
import type { CompiledCondition, CompiledParams, CompiledPolicySet } from '../policy/compiled.js'
import { normalizeScope } from '../policy/names.js'
import type { Effect, ValidationError } from '../types.js'
import { EvaluationContext } from './evaluation.js'
import type { Binding, RowKind, RuleTable } from './rule-table.js'
import { validateAttributes } from './schema-validation.js'
import type { ActionEffect, CheckInput, CheckOutput, CheckOutputEntry, SchemaEnforcement } from './types.js'
import { setOwn } from '../internal/own.js'
import { tupleKey } from './tuple-key.js'

/** Engine-wide settings for a check. */
export interface CheckSettings {
  readonly lenientScopeSearch: boolean
  /** A condition that fails to evaluate denies instead of counting as false. */
  readonly strictEvaluation: boolean
  readonly schemaEnforcement: SchemaEnforcement
  readonly globals: Record<string, unknown>
}

/** Policy key reported when no policy exists for the request. */
export const NO_MATCH = 'NO_MATCH'
const NO_MATCH_FOR_SCOPE_PERMISSIONS = 'NO_MATCH_FOR_SCOPE_PERMISSIONS'

type EffectOrNoMatch = Effect | 'NO_MATCH'

interface EffectInfo {
  effect: EffectOrNoMatch
  policy: string
  scope: string
  /** `<policy key>#<rule name>` of the rule that decided; `''` when none did (no match, a synthesised role-policy denial). */
  rule: string
}

const DEFAULT_VERSION = 'default'

/** Derived roles of one scope: the active ones and (strict mode) those whose condition failed. */
interface ScopedRoles {
  readonly active: readonly string[]
  readonly failed: readonly string[] | undefined
}
const NO_VARIABLES: Record<string, unknown> = Object.freeze({}) as Record<string, unknown>
const NO_POLICIES: Readonly<Record<string, string>> = Object.freeze({})
const NO_CLAIMS: Record<string, unknown> = Object.freeze({}) as Record<string, unknown>

const pureConditions = new WeakMap<CompiledCondition, boolean>()

/**
 * A derived-role condition gives the same result in the scope pass and in a rule row when it reads
 * no variables and not `runtime` (the only inputs that differ between the two).
 */
function isPure(condition: CompiledCondition, params: CompiledParams): boolean {
  if (params.variables.length > 0) return false
  let pure = pureConditions.get(condition)
  if (pure === undefined) {
    const sources: string[] = []
    const collect = (c: CompiledCondition): void => {
      if (c.op === 'expr') sources.push(c.program.source)
      else c.items.forEach(collect)
    }
    collect(condition)
    pure = sources.every((src) => !src.includes('runtime') && readsNoVariables(src))
    pureConditions.set(condition, pure)
  }
  return pure
}

/** Both kinds of rows, principal policies first. */
const ROW_KINDS: readonly RowKind[] = Object.freeze(['principal', 'resource'])

/** Constants of a row without parameters (never written to). */
const NO_CONSTANTS: Record<string, unknown> = Object.freeze({}) as Record<string, unknown>

/** The `src` of an output: built only when a rule has outputs. */
const outputSource = (b: Binding): string => `${b.originKey}#${b.name}`

const copyOf = (e: EffectInfo): EffectInfo => ({ effect: e.effect, policy: e.policy, scope: e.scope, rule: e.rule })

/** Whether a derived role's parent roles (`*` = any) meet the principal's roles. */
export function appliesTo(parentRoles: readonly string[], roles: ReadonlySet<string>): boolean {
  for (const r of parentRoles) if (r === '*' || roles.has(r)) return true
  return false
}

const readsNoVariables = (src: string): boolean => !/\b(V|variables)\b/.test(src)

function finish(input: CheckInput, effects: ReadonlyArray<EffectInfo | undefined>, extra: Omit<CheckOutput, 'requestId' | 'resourceId' | 'actions'>): CheckOutput {
  const actions: Record<string, ActionEffect> = {}
  for (let i = 0; i < input.actions.length; i++) {
    const action = input.actions[i] as string
    const e = effects[i]
    const decided: ActionEffect = e && e.effect !== 'NO_MATCH' ? { effect: e.effect, policy: e.policy, scope: e.scope } : { effect: 'EFFECT_DENY', policy: NO_MATCH, scope: '' }
    if (e !== undefined && e.rule !== '' && e.effect !== 'NO_MATCH') decided.rule = e.rule
    setOwn(actions, action, decided)
  }
  // Written out rather than spread (the hot path); the check keeps every field.
  return {
    requestId: input.requestId ?? '',
    resourceId: input.resource.id,
    actions,
    effectiveDerivedRoles: extra.effectiveDerivedRoles,
    validationErrors: extra.validationErrors,
    outputs: extra.outputs,
    evaluationErrors: extra.evaluationErrors,
    effectivePolicies: extra.effectivePolicies,
  } satisfies Record<keyof CheckOutput, unknown>
}

/** The CEL `request` object of one input (scopes already normalised). */
export function celRequestOf(input: CheckInput, principalScope: string, resourceScope: string): CelRequest {
  const { principal, resource } = input
  return {
    principal: { id: principal.id, roles: principal.roles, attr: principal.attr ?? {}, policyVersion: principal.policyVersion ?? '', scope: principalScope },
    resource: { kind: resource.kind, id: resource.id, attr: resource.attr ?? {}, policyVersion: resource.policyVersion ?? '', scope: resourceScope },
    // `jwts` is not in the CEL contract's type but the CEL layer reads any field of auxData.
    auxData: { jwt: input.auxData?.jwt ?? NO_CLAIMS, jwts: input.auxData?.jwts ?? NO_CLAIMS } as CelRequest['auxData'],
  }
}

/**
 * Decides every action of one input.
 *
 * @param table - the rule table of the policy set in force
 * @param set - the compiled set (for its schemas)
 * @param input - a validated input
 * @param settings - engine options
 * @param now - the clock of this check call (the same Date every time it is called)
 */
export function checkInput(table: RuleTable, set: CompiledPolicySet, input: CheckInput, settings: CheckSettings, now: () => Date): CheckOutput {
  const { principal, resource } = input
  const principalScope = normalizeScope(principal.scope)
  const principalVersion = principal.policyVersion || DEFAULT_VERSION
  const resourceScope = normalizeScope(resource.scope)
  const resourceVersion = resource.policyVersion || DEFAULT_VERSION
  // Decisions by action index (actions are unique).
  const effects: Array<EffectInfo | undefined> = []
  let effectivePolicies: Readonly<Record<string, string>> = NO_POLICIES
  const outputs: CheckOutputEntry[] = []
  const effectiveDerivedRoles: string[] = []
  let validationErrors: ValidationError[] = []
  const result = (evaluationErrors: CheckOutput['evaluationErrors'] = []): CheckOutput =>
    finish(input, effects, { effectiveDerivedRoles, validationErrors, outputs, evaluationErrors, effectivePolicies })

  const plan = table.resourcePlan(resource.kind, resourceVersion, resourceScope, settings.lenientScopeSearch)
  const pplan = table.principalPlan(principal.id, principalVersion, principalScope, resource.kind, resourceVersion, settings.lenientScopeSearch)
  if (pplan.principalScopes.length === 0 && plan.resourceScopes.length === 0) return result()

  const principalAttr = principal.attr ?? {}
  const resourceAttr = resource.attr ?? {}
  if (settings.schemaEnforcement !== 'none' && plan.resourceKey !== '') {
    validationErrors = validateAttributes(set.schemas, plan.rootPolicy, principalAttr, resourceAttr, input.actions)
    if (validationErrors.length > 0 && settings.schemaEnforcement === 'reject') {
      for (let i = 0; i < input.actions.length; i++) effects[i] = { effect: 'EFFECT_DENY', policy: plan.resourceKey, scope: '', rule: '' }
      return result()
    }
  }

  const ctx = new EvaluationContext(celRequestOf(input, principalScope, resourceScope), settings.globals, now, settings.strictEvaluation)
  const sanitizedResource = plan.sanitizedResource
  const { scopedResourceExists } = plan
  const { scopedPrincipalExists } = pplan
  if (!scopedPrincipalExists && !scopedResourceExists) return result(ctx.errors.all())

  const parentRolesOf = (role: string): readonly string[] => {
    let roles = plan.parentRoles.get(role)
    if (!roles) {
      roles = table.withParentRoles(resourceScope, [role])
      plan.parentRoles.set(role, roles)
      table.noteCachedEntry()
    }
    return roles
  }
  // One role is its own key (the usual case, no string built); a list is length-prefixed after a NUL
  // no lone role can start with here.
  const [onlyRole] = principal.roles
  const rolesKey = principal.roles.length === 1 && !(onlyRole as string).startsWith('\0') ? (onlyRole as string) : `\0${tupleKey(principal.roles)}`
  let includingParentRoles = plan.includingParentRoles.get(rolesKey)
  if (!includingParentRoles) {
    const all = new Set<string>()
    for (const role of principal.roles) for (const r of parentRolesOf(role)) all.add(r)
    includingParentRoles = all
    if (plan.includingParentRoles.size > 1_000) plan.includingParentRoles.clear()
    plan.includingParentRoles.set(rolesKey, all)
    table.noteCachedEntry()
  }
  const parentSet = includingParentRoles
  let varCache: Map<CompiledParams, Record<string, unknown>> | undefined
  let drVarCache: Map<CompiledParams, Record<string, unknown>> | undefined
  const variablesOf = (params: CompiledParams): Record<string, unknown> => {
    if (params.variables.length === 0) return NO_VARIABLES
    let v = varCache?.get(params)
    if (!v) {
      v = ctx.evaluateVariables(params, 'undefined')
      ;(varCache ??= new Map()).set(params, v)
    }
    return v
  }
  let conditionCache: Map<string, boolean> | undefined
  let drConditionMemo: Map<CompiledCondition, boolean> | undefined
  let scopedDerivedRoles: Map<string, ScopedRoles> | undefined
  let firstScope = ''
  let firstScopeRoles: ScopedRoles | undefined
  const consulted: string[] = []

  const derivedRolesFor = (scope: string): ScopedRoles => {
    if (scope === firstScope && firstScopeRoles !== undefined) return firstScopeRoles
    const done = scopedDerivedRoles?.get(scope)
    if (done) return done
    const active: string[] = []
    let failedRoles: string[] | undefined
    for (const dr of plan.derivedRoles.get(scope) ?? []) {
      if (!appliesTo(dr.parentRoles, parentSet)) continue
      let vars = dr.params.variables.length === 0 ? NO_VARIABLES : drVarCache?.get(dr.params)
      if (!vars) {
        vars = ctx.evaluateVariables(dr.params, settings.strictEvaluation ? 'undefined' : 'null')
        ;(drVarCache ??= new Map()).set(dr.params, vars)
      }
      const ok = ctx.satisfies(dr.condition, dr.params.constants, vars)
      if (ok === undefined) {
        ;(failedRoles ??= []).push(dr.name)
        continue
      }
      if (dr.condition && isPure(dr.condition, dr.params)) (drConditionMemo ??= new Map()).set(dr.condition, ok)
      if (ok) {
        active.push(dr.name)
        if (!effectiveDerivedRoles.includes(dr.name)) effectiveDerivedRoles.push(dr.name)
      }
    }
    if (active.length > 1) active.sort()
    const result: ScopedRoles = { active, failed: failedRoles?.sort() }
    // Most checks visit one scope: it needs no Map.
    if (firstScopeRoles === undefined) {
      firstScope = scope
      firstScopeRoles = result
    } else (scopedDerivedRoles ??= new Map()).set(scope, result)
    return result
  }

  const queryRows = (kind: RowKind, scope: string, action: string, role: string): readonly Binding[] => {
    const byScope = kind === 'principal' ? pplan.queries : plan.queries
    let byAction = byScope.get(scope)
    if (!byAction) byScope.set(scope, (byAction = new Map()))
    let byRole = byAction.get(action)
    if (!byRole) {
      if (byAction.size > 2_000) byAction.clear()
      byAction.set(action, (byRole = new Map()))
    }
    let rows = byRole.get(role)
    if (!rows) {
      rows = table.query(resourceVersion, sanitizedResource, scope, action, parentRolesOf(role), kind, kind === 'principal' ? principal.id : '')
      if (byRole.size > 1_000) byRole.clear()
      byRole.set(role, rows)
      table.noteCachedEntry()
    }
    return rows
  }

  for (let actionIndex = 0; actionIndex < input.actions.length; actionIndex++) {
    // Inputs are validated: actions are unique.
    const action = input.actions[actionIndex] as string
    let actionEffect: EffectInfo = { effect: 'NO_MATCH', policy: '', scope: '', rule: '' }
    policiesLoop: for (const kind of ROW_KINDS) {
      const mainKey = kind === 'principal' ? pplan.principalKey : plan.resourceKey
      const scopes = kind === 'principal' ? pplan.principalScopes : plan.resourceScopes
      actionEffect.effect = 'NO_MATCH'
      for (let i = 0; i < principal.roles.length; i++) {
        // Principal rules are role-agnostic: one pass covers every role.
        if (i > 0 && kind === 'principal') break
        const role = principal.roles[i] as string
        let hasAllow = false
        // The first allow rule that held in the scope being walked: the one named if the scope decides.
        let allowRule = ''
        const roleEffect: EffectInfo = { effect: 'NO_MATCH', policy: NO_MATCH, scope: '', rule: '' }
        if ((kind === 'resource' && scopedResourceExists) || (kind === 'principal' && scopedPrincipalExists)) roleEffect.policy = mainKey
        scopesLoop: for (const scope of scopes) {
          if (kind === 'resource') {
            const roles = derivedRolesFor(scope)
            ctx.setEffectiveDerivedRoles(roles.active, roles.failed)
          }
          if (roleEffect.effect !== 'NO_MATCH') break
          for (const b of queryRows(kind, scope, action, role)) {
            if (!consulted.includes(b.originKey)) consulted.push(b.originKey)
            const constants = b.params?.constants ?? NO_CONSTANTS
            const variables = b.params ? variablesOf(b.params) : NO_VARIABLES
            let satisfied: boolean
            const cached = b.evalKey === '' ? undefined : conditionCache?.get(b.evalKey)
            if (cached !== undefined) {
              satisfied = cached
            } else {
              if (b.derivedRoleCondition) {
                const drParams = b.derivedRoleParams
                // Same condition, same inputs, same answer (and the same errors, already recorded).
                const drOk =
                  drConditionMemo?.get(b.derivedRoleCondition) ??
                  ctx.satisfies(b.derivedRoleCondition, drParams?.constants ?? NO_CONSTANTS, drParams ? variablesOf(drParams) : NO_VARIABLES)
                if (drOk === undefined) {
                  // Strict evaluation: a condition that fails to evaluate denies the action.
                  actionEffect = { effect: 'EFFECT_DENY', policy: b.originKey, scope, rule: b.ruleId }
                  break policiesLoop
                }
                if (!drOk) {
                  if (b.evalKey !== '') (conditionCache ??= new Map()).set(b.evalKey, false)
                  continue
                }
              }
              const ok = ctx.satisfies(b.condition, constants, variables)
              if (ok === undefined) {
                actionEffect = { effect: 'EFFECT_DENY', policy: b.originKey, scope, rule: b.ruleId }
                break policiesLoop
              }
              satisfied = ok
              if (b.evalKey !== '') (conditionCache ??= new Map()).set(b.evalKey, satisfied)
            }
            if (satisfied) {
              if (b.output?.ruleActivated) outputs.push({ src: outputSource(b), action, ...ctx.output(b.output.ruleActivated, constants, variables) })
              if (b.effect === 'EFFECT_ALLOW') {
                if (!hasAllow) allowRule = b.ruleId
                hasAllow = true
              }
              if (b.effect === 'EFFECT_DENY') {
                roleEffect.effect = 'EFFECT_DENY'
                roleEffect.scope = scope
                roleEffect.rule = b.ruleId
                // A denial synthesised from a role policy is attributed to that role policy.
                if (b.fromRolePolicy) roleEffect.policy = b.originKey
                break scopesLoop
              } else if (b.noMatchForScopePermissions) {
                roleEffect.policy = NO_MATCH_FOR_SCOPE_PERMISSIONS
                roleEffect.scope = scope
                roleEffect.rule = ''
              }
            } else if (b.output?.conditionNotMet) {
              outputs.push({ src: outputSource(b), action, ...ctx.output(b.output.conditionNotMet, constants, variables) })
            }
          }
          if (hasAllow) {
            const perms = table.scopePermissionsAt(scope)
            if (perms === 'SCOPE_PERMISSIONS_REQUIRE_PARENTAL_CONSENT_FOR_ALLOWS') {
              hasAllow = false
            } else if (perms === 'SCOPE_PERMISSIONS_OVERRIDE_PARENT') {
              roleEffect.effect = 'EFFECT_ALLOW'
              roleEffect.scope = scope
              roleEffect.rule = allowRule
              break scopesLoop
            }
          }
        }
        if (actionEffect.effect === 'NO_MATCH') actionEffect = copyOf(roleEffect)
        if (roleEffect.effect === 'EFFECT_ALLOW') {
          actionEffect = { effect: roleEffect.effect, policy: roleEffect.policy, scope: roleEffect.scope, rule: roleEffect.rule }
          break
        } else if (roleEffect.effect === 'EFFECT_DENY' && actionEffect.policy === NO_MATCH_FOR_SCOPE_PERMISSIONS && roleEffect.policy !== NO_MATCH_FOR_SCOPE_PERMISSIONS) {
          actionEffect = copyOf(roleEffect)
        }
      }
      if (actionEffect.effect === 'EFFECT_ALLOW' || actionEffect.effect === 'EFFECT_DENY') break
    }
    if (actionEffect.effect === 'NO_MATCH') actionEffect.effect = 'EFFECT_DENY'
    effects[actionIndex] = actionEffect
  }
  const consultedKey = consulted.length === 1 ? (consulted[0] as string) : consulted.join('\0')
  let policies = plan.effectivePolicies.get(consultedKey)
  if (!policies) {
    const record: Record<string, string> = {}
    for (const key of consulted) for (const [k, file] of table.policyChain(key)) record[k] = file
    policies = Object.freeze(record)
    if (plan.effectivePolicies.size > 1_000) plan.effectivePolicies.clear()
    plan.effectivePolicies.set(consultedKey, policies)
    table.noteCachedEntry()
  }
  effectivePolicies = policies
  return result(ctx.errors.all())
}
