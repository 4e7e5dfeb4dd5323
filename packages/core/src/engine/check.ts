/**
 * The decision procedure for one input, following Cerbos' rule-table evaluation: principal
 * policies first (role-agnostic), then resource policies per principal role; scopes walked from the
 * most specific to the root; role-policy denials, derived roles, scope permissions, outputs and
 * swallowed CEL errors exactly as Cerbos 0.55 treats them.
 *
 * The loops mirror Cerbos' `RuleTable.check` (internal/ruletable/check.go): actions → policy types →
 * roles → scopes (`scopesLoop`) → bindings. Derived roles live in derived-roles.ts, the caches of
 * the request shape in plan-caches.ts, the per-check state in check-state.ts.
 */
import type { CelRequest } from '../cel/index.js'
import type { CompiledPolicySet } from '../policy/compiled.js'
import { normalizeScope } from '../policy/names.js'
import type { ValidationError } from '../types.js'
import { InputCheck, variablesOf, type EffectInfo } from './check-state.js'
import { derivedRolesAt } from './derived-roles.js'
import { EvaluationContext } from './evaluation.js'
import { effectivePoliciesOf, rolesWithParents, rowsFor } from './plan-caches.js'
import type { Binding, RowKind, RuleTable } from './rule-table.js'
import { validateAttributes } from './schema-validation.js'
import type { ActionEffect, CheckInput, CheckOutput, CheckOutputEntry, SchemaEnforcement } from './types.js'
import { setOwn } from '../internal/own.js'

export { appliesTo } from './derived-roles.js'

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

const DEFAULT_VERSION = 'default'

const NO_VARIABLES: Record<string, unknown> = Object.freeze({})
const NO_POLICIES: Readonly<Record<string, string>> = Object.freeze({})
const NO_CLAIMS: Record<string, unknown> = Object.freeze({})
/** Constants of a row without parameters (never written to). */
const NO_CONSTANTS: Record<string, unknown> = Object.freeze({})

/** Both kinds of rows, principal policies first. */
const ROW_KINDS: readonly RowKind[] = Object.freeze(['principal', 'resource'])

/** What the rows of one scope did to the scope walk. */
const WALK_ON = 0
const WALK_DENIED = 1
const WALK_FAILED = 2

/** What a row's conditions gave: held, not met, skipped (its derived role is not active), or failed to evaluate. */
const RULE_HOLDS = 0
const RULE_NOT_MET = 1
const RULE_SKIPPED = 2
const RULE_FAILED = 3

/** The `src` of an output: built only when a rule has outputs. */
const outputSource = (b: Binding): string => `${b.originKey}#${b.name}`

const copyOf = (e: EffectInfo): EffectInfo => ({ effect: e.effect, policy: e.policy, scope: e.scope, rule: e.rule })

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

  const plan = table.resourcePlan(resource.kind, resourceVersion, resourceScope, settings.lenientScopeSearch)
  const pplan = table.principalPlan(principal.id, principalVersion, principalScope, resource.kind, resourceVersion, settings.lenientScopeSearch)
  if (pplan.principalScopes.length === 0 && plan.resourceScopes.length === 0) return finish(input, effects, [], [], [], [], NO_POLICIES)

  let validationErrors: ValidationError[] = []
  if (settings.schemaEnforcement !== 'none' && plan.resourceKey !== '') {
    validationErrors = validateAttributes(set.schemas, plan.rootPolicy, principal.attr ?? {}, resource.attr ?? {}, input.actions)
    if (validationErrors.length > 0 && settings.schemaEnforcement === 'reject') {
      for (let i = 0; i < input.actions.length; i++) effects[i] = { effect: 'EFFECT_DENY', policy: plan.resourceKey, scope: '', rule: '' }
      return finish(input, effects, [], validationErrors, [], [], NO_POLICIES)
    }
  }

  const ctx = new EvaluationContext(celRequestOf(input, principalScope, resourceScope), settings.globals, now, settings.strictEvaluation)
  if (!pplan.scopedPrincipalExists && !plan.scopedResourceExists) return finish(input, effects, [], validationErrors, [], ctx.errors.all(), NO_POLICIES)

  const parentSet = rolesWithParents(table, plan, resourceScope, principal.roles)
  const c = new InputCheck(table, input, plan, pplan, ctx, resourceScope, resourceVersion, parentSet, settings.strictEvaluation)
  for (let i = 0; i < input.actions.length; i++) effects[i] = decideAction(c, input.actions[i] as string)
  const effectivePolicies = effectivePoliciesOf(table, plan, c.consulted)
  return finish(input, effects, c.effectiveDerivedRoles, validationErrors, c.outputs, ctx.errors.all(), effectivePolicies)
}

/**
 * One action (Cerbos' loop over `policyTypes`, then over the principal's roles): principal policies,
 * then resource policies. Within a policy type each role walks the scope chain; the first role whose
 * walk allows decides, and a denial replaces a no-match left by scope permissions.
 */
function decideAction(c: InputCheck, action: string): EffectInfo {
  const { roles } = c.input.principal
  let actionEffect: EffectInfo = { effect: 'NO_MATCH', policy: '', scope: '', rule: '' }
  for (const kind of ROW_KINDS) {
    actionEffect.effect = 'NO_MATCH'
    for (let i = 0; i < roles.length; i++) {
      // Principal rules are role-agnostic: one pass covers every role.
      if (i > 0 && kind === 'principal') break
      const roleEffect = walkScopes(c, kind, action, roles[i] as string)
      const failure = c.failure
      if (failure !== undefined) {
        // Strict evaluation: a condition that fails to evaluate denies the action outright.
        c.failure = undefined
        return failure
      }
      if (actionEffect.effect === 'NO_MATCH') actionEffect = copyOf(roleEffect)
      if (roleEffect.effect === 'EFFECT_ALLOW') {
        actionEffect = copyOf(roleEffect)
        break
      } else if (roleEffect.effect === 'EFFECT_DENY' && actionEffect.policy === NO_MATCH_FOR_SCOPE_PERMISSIONS && roleEffect.policy !== NO_MATCH_FOR_SCOPE_PERMISSIONS) {
        actionEffect = copyOf(roleEffect)
      }
    }
    if (actionEffect.effect === 'EFFECT_ALLOW' || actionEffect.effect === 'EFFECT_DENY') break
  }
  if (actionEffect.effect === 'NO_MATCH') actionEffect.effect = 'EFFECT_DENY'
  return actionEffect
}

/**
 * Cerbos' `scopesLoop` for one role: from the most specific scope to the root, until a denial, or
 * an allow in a scope whose permissions override its parents.
 */
function walkScopes(c: InputCheck, kind: RowKind, action: string, role: string): EffectInfo {
  const roleEffect: EffectInfo = { effect: 'NO_MATCH', policy: NO_MATCH, scope: '', rule: '' }
  // A policy exists whether or not a rule matches: it is named even when nothing does.
  if (kind === 'resource' ? c.plan.scopedResourceExists : c.pplan.scopedPrincipalExists) roleEffect.policy = kind === 'resource' ? c.plan.resourceKey : c.pplan.principalKey
  c.hasAllow = false
  c.allowRule = ''
  for (const scope of kind === 'resource' ? c.plan.resourceScopes : c.pplan.principalScopes) {
    if (kind === 'resource') {
      const derived = derivedRolesAt(c, scope)
      c.ctx.setEffectiveDerivedRoles(derived.active, derived.failed)
    }
    if (roleEffect.effect !== 'NO_MATCH') break
    if (applyRows(c, kind, scope, action, role, roleEffect) !== WALK_ON) break
    if (c.hasAllow as boolean) { // widened: applyRows sets it, which narrowing cannot see
      const perms = c.table.scopePermissionsAt(scope)
      if (perms === 'SCOPE_PERMISSIONS_REQUIRE_PARENTAL_CONSENT_FOR_ALLOWS') {
        c.hasAllow = false
      } else if (perms === 'SCOPE_PERMISSIONS_OVERRIDE_PARENT') {
        roleEffect.effect = 'EFFECT_ALLOW'
        roleEffect.scope = scope
        roleEffect.rule = c.allowRule
        break
      }
    }
  }
  return roleEffect
}

/**
 * The bindings of one scope, in load order (Cerbos' loop over `rt.idx.Query`): outputs, allows
 * noted, the first denial ends the walk.
 */
function applyRows(c: InputCheck, kind: RowKind, scope: string, action: string, role: string, roleEffect: EffectInfo): number {
  for (const b of rowsFor(c, kind, scope, action, role)) {
    if (!c.consulted.includes(b.originKey)) c.consulted.push(b.originKey)
    const constants = b.params?.constants ?? NO_CONSTANTS
    const variables = b.params ? variablesOf(c, b.params) : NO_VARIABLES
    const outcome = ruleOutcome(c, b, constants, variables)
    if (outcome === RULE_SKIPPED) continue
    if (outcome === RULE_FAILED) {
      c.failure = { effect: 'EFFECT_DENY', policy: b.originKey, scope, rule: b.ruleId }
      return WALK_FAILED
    }
    if (outcome === RULE_NOT_MET) {
      if (b.output?.conditionNotMet) c.outputs.push(outputOf(c, b, action, b.output.conditionNotMet, constants, variables))
      continue
    }
    if (b.output?.ruleActivated) c.outputs.push(outputOf(c, b, action, b.output.ruleActivated, constants, variables))
    if (b.effect === 'EFFECT_ALLOW') {
      if (!c.hasAllow) c.allowRule = b.ruleId
      c.hasAllow = true
    }
    if (b.effect === 'EFFECT_DENY') {
      roleEffect.effect = 'EFFECT_DENY'
      roleEffect.scope = scope
      roleEffect.rule = b.ruleId
      // A denial synthesised from a role policy is attributed to that role policy.
      if (b.fromRolePolicy) roleEffect.policy = b.originKey
      return WALK_DENIED
    } else if (b.noMatchForScopePermissions) {
      roleEffect.policy = NO_MATCH_FOR_SCOPE_PERMISSIONS
      roleEffect.scope = scope
      roleEffect.rule = ''
    }
  }
  return WALK_ON
}

/**
 * A row's derived-role condition, then its own condition, through Cerbos' `conditionCache` (rows of
 * one rule share an evaluation key). An inactive derived role skips the row: no output, and only a
 * later cache hit reads it as a condition not met, as in Cerbos.
 */
function ruleOutcome(c: InputCheck, b: Binding, constants: Record<string, unknown>, variables: Record<string, unknown>): number {
  const cached = b.evalKey === '' ? undefined : c.conditionCache?.get(b.evalKey)
  if (cached !== undefined) return cached ? RULE_HOLDS : RULE_NOT_MET
  if (b.derivedRoleCondition) {
    const drParams = b.derivedRoleParams
    // Same condition, same inputs, same answer (and the same errors, already recorded).
    const drOk =
      c.drConditionMemo?.get(b.derivedRoleCondition) ??
      c.ctx.satisfies(b.derivedRoleCondition, drParams?.constants ?? NO_CONSTANTS, drParams ? variablesOf(c, drParams) : NO_VARIABLES)
    if (drOk === undefined) return RULE_FAILED
    if (!drOk) {
      if (b.evalKey !== '') (c.conditionCache ??= new Map()).set(b.evalKey, false)
      return RULE_SKIPPED
    }
  }
  const ok = c.ctx.satisfies(b.condition, constants, variables)
  if (ok === undefined) return RULE_FAILED
  if (b.evalKey !== '') (c.conditionCache ??= new Map()).set(b.evalKey, ok)
  return ok ? RULE_HOLDS : RULE_NOT_MET
}

/** One output entry of a rule (activated or condition not met). */
function outputOf(
  c: InputCheck,
  b: Binding,
  action: string,
  program: NonNullable<NonNullable<Binding['output']>['ruleActivated']>,
  constants: Record<string, unknown>,
  variables: Record<string, unknown>,
): CheckOutputEntry {
  return { src: outputSource(b), action, ...c.ctx.output(program, constants, variables) }
}

function finish(
  input: CheckInput,
  effects: ReadonlyArray<EffectInfo | undefined>,
  effectiveDerivedRoles: string[],
  validationErrors: ValidationError[],
  outputs: CheckOutputEntry[],
  evaluationErrors: CheckOutput['evaluationErrors'],
  effectivePolicies: Readonly<Record<string, string>>,
): CheckOutput {
  const actions: Record<string, ActionEffect> = {}
  for (let i = 0; i < input.actions.length; i++) {
    const action = input.actions[i] as string
    const e = effects[i]
    const decided: ActionEffect = e && e.effect !== 'NO_MATCH' ? { effect: e.effect, policy: e.policy, scope: e.scope } : { effect: 'EFFECT_DENY', policy: NO_MATCH, scope: '' }
    if (e !== undefined && e.rule !== '' && e.effect !== 'NO_MATCH') decided.rule = e.rule
    setOwn(actions, action, decided)
  }
  return {
    requestId: input.requestId ?? '',
    resourceId: input.resource.id,
    actions,
    effectiveDerivedRoles,
    validationErrors,
    outputs,
    evaluationErrors,
    effectivePolicies,
  } satisfies Record<keyof CheckOutput, unknown>
}
