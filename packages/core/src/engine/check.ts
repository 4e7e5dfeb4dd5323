/**
 * The decision procedure for one input, following Cerbos' rule-table evaluation: principal
 * policies first (role-agnostic), then resource policies per principal role; scopes walked from the
 * most specific to the root; role-policy denials, derived roles, scope permissions, outputs and
 * swallowed CEL errors exactly as Cerbos 0.55 treats them.
 */
import type { CelRequest } from '../cel/index.js'
import type { CompiledParams, CompiledPolicySet } from '../policy/compiled.js'
import { normalizeScope, principalPolicyKey, resourcePolicyKey, sanitizeName, scopeParents } from '../policy/names.js'
import type { Effect, ValidationError } from '../types.js'
import { EvaluationContext } from './evaluation.js'
import type { RowKind, RuleTable } from './rule-table.js'
import { validateAttributes } from './schema-validation.js'
import type { ActionEffect, CheckInput, CheckOutput, CheckOutputEntry, SchemaEnforcement } from './types.js'

/** Engine-wide settings for a check. */
export interface CheckSettings {
  readonly lenientScopeSearch: boolean
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
}

const DEFAULT_VERSION = 'default'

function finish(input: CheckInput, effects: ReadonlyMap<string, EffectInfo>, extra: Omit<CheckOutput, 'requestId' | 'resourceId' | 'actions'>): CheckOutput {
  const actions: Record<string, ActionEffect> = {}
  for (const action of input.actions) {
    const e = effects.get(action)
    actions[action] = e && e.effect !== 'NO_MATCH' ? { effect: e.effect, policy: e.policy, scope: e.scope } : { effect: 'EFFECT_DENY', policy: NO_MATCH, scope: '' }
  }
  return { requestId: input.requestId ?? '', resourceId: input.resource.id, actions, ...extra }
}

/**
 * Decides every action of one input.
 *
 * @param table - the rule table of the policy set in force
 * @param set - the compiled set (for its schemas)
 * @param input - a validated input
 * @param settings - engine options
 * @param now - the request time, fixed for the whole check call
 */
export function checkInput(table: RuleTable, set: CompiledPolicySet, input: CheckInput, settings: CheckSettings, now: Date): CheckOutput {
  const { principal, resource } = input
  const principalScope = normalizeScope(principal.scope)
  const principalVersion = principal.policyVersion || DEFAULT_VERSION
  const resourceScope = normalizeScope(resource.scope)
  const resourceVersion = resource.policyVersion || DEFAULT_VERSION
  const effects = new Map<string, EffectInfo>()
  const effectivePolicies: Record<string, string> = {}
  const outputs: CheckOutputEntry[] = []
  const effectiveDerivedRoles = new Set<string>()
  let validationErrors: ValidationError[] = []
  const result = (evaluationErrors: CheckOutput['evaluationErrors'] = []): CheckOutput =>
    finish(input, effects, { effectiveDerivedRoles: [...effectiveDerivedRoles], validationErrors, outputs, evaluationErrors, effectivePolicies })

  const pchain = table.scopeChain('principal', principalScope, (s) => principalPolicyKey(principal.id, principalVersion, s), settings.lenientScopeSearch)
  const rchain = table.scopeChain('resource', resourceScope, (s) => resourcePolicyKey(resource.kind, resourceVersion, s), settings.lenientScopeSearch)
  if (pchain.scopes.length === 0 && rchain.scopes.length === 0) return result()

  const principalAttr = principal.attr ?? {}
  const resourceAttr = resource.attr ?? {}
  if (settings.schemaEnforcement !== 'none' && rchain.key !== '') {
    validationErrors = validateAttributes(set.schemas, table.rootResourcePolicy(resource.kind, resourceVersion), principalAttr, resourceAttr, input.actions)
    if (validationErrors.length > 0 && settings.schemaEnforcement === 'reject') {
      for (const action of input.actions) effects.set(action, { effect: 'EFFECT_DENY', policy: rchain.key, scope: '' })
      return result()
    }
  }

  const request: CelRequest = {
    principal: { id: principal.id, roles: principal.roles, attr: principalAttr, policyVersion: principal.policyVersion ?? '', scope: principalScope },
    resource: { kind: resource.kind, id: resource.id, attr: resourceAttr, policyVersion: resource.policyVersion ?? '', scope: resourceScope },
    auxData: { jwt: input.auxData?.jwt ?? {} },
  }
  const ctx = new EvaluationContext(request, settings.globals, now)
  const sanitizedResource = sanitizeName(resource.kind)
  const scopedPrincipalExists = table.principalExists(principalVersion, pchain.scopes)
  const scopedResourceExists = table.resourceExists(resourceVersion, sanitizedResource, rchain.scopes)
  if (!scopedPrincipalExists && !scopedResourceExists) return result()

  const includingParentRoles = new Set(table.withParentRoles(resourceScope, principal.roles))
  const varCache = new Map<CompiledParams, Record<string, unknown>>()
  const drVarCache = new Map<CompiledParams, Record<string, unknown>>()
  const variablesOf = (params: CompiledParams): Record<string, unknown> => {
    let v = varCache.get(params)
    if (!v) {
      v = ctx.evaluateVariables(params, 'undefined')
      varCache.set(params, v)
    }
    return v
  }
  const conditionCache = new Map<string, boolean>()
  const scopedDerivedRoles = new Map<string, readonly string[]>()

  const recordPolicy = (key: string): void => {
    if (key in effectivePolicies) return
    const file = table.sourceOf(key)
    if (file !== undefined) effectivePolicies[key] = file
    // A scoped policy's set includes its whole ancestor chain.
    const slash = key.indexOf('/')
    if (slash > 0) {
      const base = key.slice(0, slash)
      for (const parent of scopeParents(key.slice(slash + 1))) {
        const parentKey = parent === '' ? base : `${base}/${parent}`
        const parentFile = table.sourceOf(parentKey)
        if (parentFile !== undefined) effectivePolicies[parentKey] = parentFile
      }
    }
  }

  const derivedRolesFor = (scope: string): readonly string[] => {
    const done = scopedDerivedRoles.get(scope)
    if (done) return done
    const active: string[] = []
    for (const [name, dr] of table.derivedRolesAt(resource.kind, resourceVersion, scope) ?? []) {
      if (!(dr.parentRoles.includes('*') || dr.parentRoles.some((r) => includingParentRoles.has(r)))) continue
      let vars = drVarCache.get(dr.params)
      if (!vars) {
        vars = ctx.evaluateVariables(dr.params, 'null')
        drVarCache.set(dr.params, vars)
      }
      if (ctx.satisfies(dr.condition, dr.params.constants, vars)) {
        active.push(name)
        effectiveDerivedRoles.add(name)
      }
    }
    active.sort()
    scopedDerivedRoles.set(scope, active)
    return active
  }

  const kinds: RowKind[] = ['principal', 'resource']
  const seenActions = new Set<string>()
  for (const action of input.actions) {
    if (seenActions.has(action)) continue
    seenActions.add(action)
    let actionEffect: EffectInfo = { effect: 'NO_MATCH', policy: '', scope: '' }
    for (const kind of kinds) {
      const mainKey = kind === 'principal' ? pchain.key : rchain.key
      const scopes = kind === 'principal' ? pchain.scopes : rchain.scopes
      actionEffect.effect = 'NO_MATCH'
      for (let i = 0; i < principal.roles.length; i++) {
        // Principal rules are role-agnostic: one pass covers every role.
        if (i > 0 && kind === 'principal') break
        const role = principal.roles[i] as string
        let hasAllow = false
        const roleEffect: EffectInfo = { effect: 'NO_MATCH', policy: NO_MATCH, scope: '' }
        if ((kind === 'resource' && scopedResourceExists) || (kind === 'principal' && scopedPrincipalExists)) roleEffect.policy = mainKey
        const parentRoles = table.withParentRoles(resourceScope, [role])
        scopesLoop: for (const scope of scopes) {
          if (kind === 'resource') ctx.effectiveDerivedRoles = derivedRolesFor(scope)
          if (roleEffect.effect !== 'NO_MATCH') break
          const pid = kind === 'principal' ? principal.id : ''
          for (const b of table.query(resourceVersion, sanitizedResource, scope, action, parentRoles, kind, pid)) {
            recordPolicy(b.originKey)
            const constants = b.params?.constants ?? {}
            const variables = b.params ? variablesOf(b.params) : {}
            let satisfied: boolean
            const cached = b.evalKey === '' ? undefined : conditionCache.get(b.evalKey)
            if (cached !== undefined) {
              satisfied = cached
            } else {
              if (b.derivedRoleCondition) {
                const drParams = b.derivedRoleParams
                const drOk = ctx.satisfies(b.derivedRoleCondition, drParams?.constants ?? {}, drParams ? variablesOf(drParams) : {})
                if (!drOk) {
                  if (b.evalKey !== '') conditionCache.set(b.evalKey, false)
                  continue
                }
              }
              satisfied = ctx.satisfies(b.condition, constants, variables)
              if (b.evalKey !== '') conditionCache.set(b.evalKey, satisfied)
            }
            const src = `${b.originKey}#${b.name}`
            if (satisfied) {
              if (b.output?.ruleActivated) outputs.push({ src, action, ...ctx.output(b.output.ruleActivated, constants, variables) })
              if (b.effect === 'EFFECT_ALLOW') hasAllow = true
              if (b.effect === 'EFFECT_DENY') {
                roleEffect.effect = 'EFFECT_DENY'
                roleEffect.scope = scope
                // A denial synthesised from a role policy is attributed to that role policy.
                if (b.fromRolePolicy) roleEffect.policy = b.originKey
                break scopesLoop
              } else if (b.noMatchForScopePermissions) {
                roleEffect.policy = NO_MATCH_FOR_SCOPE_PERMISSIONS
                roleEffect.scope = scope
              }
            } else if (b.output?.conditionNotMet) {
              outputs.push({ src, action, ...ctx.output(b.output.conditionNotMet, constants, variables) })
            }
          }
          if (hasAllow) {
            const perms = table.scopePermissionsAt(scope)
            if (perms === 'SCOPE_PERMISSIONS_REQUIRE_PARENTAL_CONSENT_FOR_ALLOWS') {
              hasAllow = false
            } else if (perms === 'SCOPE_PERMISSIONS_OVERRIDE_PARENT') {
              roleEffect.effect = 'EFFECT_ALLOW'
              roleEffect.scope = scope
              break scopesLoop
            }
          }
        }
        if (actionEffect.effect === 'NO_MATCH') actionEffect = { ...roleEffect }
        if (roleEffect.effect === 'EFFECT_ALLOW') {
          actionEffect = { ...roleEffect }
          break
        } else if (roleEffect.effect === 'EFFECT_DENY' && actionEffect.policy === NO_MATCH_FOR_SCOPE_PERMISSIONS && roleEffect.policy !== NO_MATCH_FOR_SCOPE_PERMISSIONS) {
          actionEffect = { ...roleEffect }
        }
      }
      if (actionEffect.effect === 'EFFECT_ALLOW' || actionEffect.effect === 'EFFECT_DENY') break
    }
    if (actionEffect.effect === 'NO_MATCH') actionEffect.effect = 'EFFECT_DENY'
    effects.set(action, actionEffect)
  }
  return result(ctx.errors.all())
}
