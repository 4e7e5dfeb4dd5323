/**
 * The rule table: every (policy, rule, action, role) becomes one row ("binding"), indexed by
 * policy kind, version and scope. Queries return rows in load order, with role-policy denials
 * synthesised first, exactly as Cerbos' rule-table engine sees them.
 */
import type { CompiledDerivedRole, CompiledPolicySet, CompiledPrincipalPolicy, CompiledResourcePolicy } from '../policy/compiled.js'
import { matchesGlob, matchesKey } from '../policy/glob.js'
import type { ScopePermissions } from '../policy/model.js'
import { principalPolicyKey, resourcePolicyKey, sanitizeName, scopeParents } from '../policy/names.js'
import type { PrincipalPlan, ResourcePlan } from './plans.js'
import { applyConsent, baseRow, candidates, EMPTY_PARAMS, negate, NO_ROWS, noMatchDeny, type Binding, type Mutable, type RowGroup, type RowKind } from './rows.js'
import { tupleKey } from './tuple-key.js'

export type { Binding, RowKind } from './rows.js'
export type { PrincipalPlan, ResourcePlan } from './plans.js'

/** How many cached query results and role sets all plans may hold together. */
const CACHE_BUDGET = 100_000

/** Immutable, query-ready rule table. */
export class RuleTable {
  private readonly groups = new Map<string, RowGroup>()
  private readonly rolePolicyGroups = new Map<string, RowGroup>()
  private nextSeq = 0
  private readonly principalScopes = new Set<string>()
  private readonly resourceScopes = new Set<string>()
  private readonly scopePermissions = new Map<string, ScopePermissions>()
  /** scope → role → all ancestor roles (role policies' parentRoles, recursive). */
  private readonly parentRoles = new Map<string, Map<string, string[]>>()
  private readonly resourcePolicies = new Map<string, CompiledResourcePolicy>()
  private readonly sources = new Map<string, string>()
  private readonly resourceParts = new Map<string, ResourcePlan>()
  private readonly principalParts = new Map<string, PrincipalPlan>()
  /** Entries cached in all plans; past the budget every plan is dropped (memory stays bounded). */
  private cachedEntries = 0
  // The most recent shapes: consecutive checks of the same shape skip even the key building.
  private lastResourcePlan: { kind: string; version: string; scope: string; lenient: boolean; plan: ResourcePlan } | undefined
  private lastPrincipalPlan:
    | { id: string; version: string; scope: string; kind: string; resourceVersion: string; lenient: boolean; plan: PrincipalPlan }
    | undefined

  constructor(set: CompiledPolicySet) {
    const roleParents = new Map<string, Map<string, readonly string[]>>()
    for (const policy of set.policies) {
      this.sources.set(policy.key, policy.file)
      if (policy.kind === 'resource') this.addResourcePolicy(policy)
      else if (policy.kind === 'principal') this.addPrincipalPolicy(policy)
      else {
        const byResource = new Map<string, typeof policy.rules[number][]>()
        for (const rule of policy.rules) {
          const list = byResource.get(rule.resource) ?? []
          list.push(rule)
          byResource.set(rule.resource, list)
        }
        for (const [resource, rules] of byResource) {
          rules.forEach((rule, idx) => {
            this.add(
              baseRow({
                kind: 'resource',
                version: policy.version,
                scope: policy.scope,
                originKey: policy.key,
                resource,
                role: policy.role,
                allowActions: rule.allowActions,
                condition: rule.condition,
                output: rule.output,
                name: rule.name,
                params: policy.params,
                fromRolePolicy: true,
                evalKey: `${policy.key}#${policy.role}_rule-${String(idx).padStart(3, '0')}`,
              }),
            )
          })
        }
        const scoped = roleParents.get(policy.scope) ?? new Map<string, readonly string[]>()
        scoped.set(policy.role, policy.parentRoles)
        roleParents.set(policy.scope, scoped)
      }
    }
    for (const [scope, roles] of roleParents) {
      const compiled = new Map<string, string[]>()
      for (const role of roles.keys()) {
        const found = new Set<string>()
        const visited = new Set<string>()
        const collect = (r: string): void => {
          if (visited.has(r)) return
          visited.add(r)
          for (const p of roles.get(r) ?? []) {
            found.add(p)
            collect(p)
          }
        }
        collect(role)
        compiled.set(role, [...found])
      }
      this.parentRoles.set(scope, compiled)
    }
  }

  private add(row: Binding): void {
    if (row.scopePermissions !== undefined) this.scopePermissions.set(row.scope, row.scopePermissions)
    if (row.kind === 'principal') this.principalScopes.add(row.scope)
    else this.resourceScopes.add(row.scope)
    const groupKey = `${row.kind}\0${row.version}\0${row.scope}`
    const target = row.allowActions ? this.rolePolicyGroups : this.groups
    let group = target.get(groupKey)
    if (!group) target.set(groupKey, (group = { all: [], byResource: new Map(), globResource: [] }))
    ;(row as Mutable<Binding>).seq = this.nextSeq++
    group.all.push(row)
    if (row.resource.includes('*')) {
      group.globResource.push(row)
    } else {
      const list = group.byResource.get(row.resource)
      if (list) list.push(row)
      else group.byResource.set(row.resource, [row])
    }
  }

  private addResourcePolicy(p: CompiledResourcePolicy): void {
    this.resourcePolicies.set(p.key, p)
    const resource = sanitizeName(p.resource)
    const common = { kind: 'resource' as const, version: p.version, scope: p.scope, originKey: p.key, resource, scopePermissions: p.scopePermissions }
    if (p.rules.length === 0) {
      // A policy without rules still makes its scope part of the chain (pass-through).
      this.add(baseRow({ ...common, params: EMPTY_PARAMS, derivedRoleParams: EMPTY_PARAMS }))
    }
    for (const rule of p.rules) {
      const ruleKey = `${p.key}#${rule.name}`
      for (const action of rule.actions) {
        for (const role of rule.roles) {
          const row = baseRow({
            ...common,
            role,
            action,
            effect: rule.effect,
            condition: rule.condition,
            output: rule.output,
            name: rule.name,
            params: p.params,
            evalKey: ruleKey,
          })
          applyConsent(row, p.scopePermissions)
          this.add(row)
        }
        for (const drName of rule.derivedRoles) {
          const dr = p.derivedRoles.get(drName)
          if (!dr) continue
          for (const parent of dr.parentRoles) {
            const row = baseRow({
              ...common,
              role: parent,
              action,
              effect: rule.effect,
              condition: rule.condition,
              derivedRoleCondition: dr.condition,
              hasDerivedRole: true,
              output: rule.output,
              name: rule.name,
              params: p.params,
              derivedRoleParams: dr.params,
              evalKey: `derived_roles.${drName}#${ruleKey}`,
            })
            applyConsent(row, p.scopePermissions)
            this.add(row)
          }
        }
      }
    }
  }

  private addPrincipalPolicy(p: CompiledPrincipalPolicy): void {
    const common = { kind: 'principal' as const, version: p.version, scope: p.scope, originKey: p.key, principal: p.principal, scopePermissions: p.scopePermissions }
    if (p.rules.length === 0) {
      this.add(baseRow({ ...common, params: EMPTY_PARAMS, derivedRoleParams: EMPTY_PARAMS }))
    }
    for (const rule of p.rules) {
      const row = baseRow({
        ...common,
        resource: sanitizeName(rule.resource),
        // Principal rules apply to every role.
        role: '*',
        action: rule.action,
        effect: rule.effect,
        condition: rule.condition,
        output: rule.output,
        name: rule.name,
        params: p.params,
        evalKey: `${p.key}#${rule.name}`,
      })
      applyConsent(row, p.scopePermissions)
      this.add(row)
    }
  }

  /**
   * Everything about a request that depends only on the resource kind, version and scope: computed
   * once per shape and cached, so a hot check only evaluates conditions.
   */
  resourcePlan(kind: string, resourceVersion: string, resourceScope: string, lenient: boolean): ResourcePlan {
    const last = this.lastResourcePlan
    if (last && last.kind === kind && last.version === resourceVersion && last.scope === resourceScope && last.lenient === lenient) return last.plan
    const key = `${kind}\0${resourceVersion}\0${resourceScope}\0${lenient ? 1 : 0}`
    const cached = this.resourceParts.get(key)
    if (cached) {
      this.lastResourcePlan = { kind, version: resourceVersion, scope: resourceScope, lenient, plan: cached }
      return cached
    }
    const rchain = this.scopeChain('resource', resourceScope, (s) => resourcePolicyKey(kind, resourceVersion, s), lenient)
    const sanitizedResource = sanitizeName(kind)
    const derivedRoles = new Map<string, readonly CompiledDerivedRole[]>()
    for (const scope of rchain.scopes) derivedRoles.set(scope, [...(this.derivedRolesAt(kind, resourceVersion, scope)?.values() ?? [])])
    const part: ResourcePlan = {
      resourceScopes: rchain.scopes,
      resourceKey: rchain.key,
      sanitizedResource,
      scopedResourceExists: this.resourceExists(resourceVersion, sanitizedResource, rchain.scopes),
      // Cerbos looks the schemas up under the first policy key of the chain; when that scope only has
      // policies of other kinds (or role policies), there is no such policy and nothing is validated.
      rootPolicy: this.resourcePolicies.has(rchain.key) ? this.rootResourcePolicy(kind, resourceVersion) : undefined,
      derivedRoles,
      parentRoles: new Map(),
      queries: new Map(),
      includingParentRoles: new Map(),
      effectivePolicies: new Map(),
    }
    if (this.resourceParts.size > 10_000) this.resourceParts.clear()
    this.noteCachedEntry()
    this.resourceParts.set(key, part)
    this.lastResourcePlan = { kind, version: resourceVersion, scope: resourceScope, lenient, plan: part }
    return part
  }

  /** The principal side of a request (principal rows are matched by the resource kind and version). */
  principalPlan(principalId: string, principalVersion: string, principalScope: string, kind: string, resourceVersion: string, lenient: boolean): PrincipalPlan {
    const last = this.lastPrincipalPlan
    if (
      last &&
      last.id === principalId &&
      last.version === principalVersion &&
      last.scope === principalScope &&
      last.kind === kind &&
      last.resourceVersion === resourceVersion &&
      last.lenient === lenient
    ) {
      return last.plan
    }
    const key = tupleKey([principalId, principalVersion, principalScope, kind, resourceVersion, lenient ? '1' : '0'])
    let part = this.principalParts.get(key)
    if (part) {
      this.lastPrincipalPlan = { id: principalId, version: principalVersion, scope: principalScope, kind, resourceVersion, lenient, plan: part }
      return part
    }
    const pchain = this.scopeChain('principal', principalScope, (s) => principalPolicyKey(principalId, principalVersion, s), lenient)
    part = {
      principalScopes: pchain.scopes,
      principalKey: pchain.key,
      scopedPrincipalExists: this.principalExists(principalVersion, pchain.scopes),
      queries: new Map(),
    }
    if (this.principalParts.size > 10_000) this.principalParts.clear()
    this.noteCachedEntry()
    this.principalParts.set(key, part)
    this.lastPrincipalPlan = { id: principalId, version: principalVersion, scope: principalScope, kind, resourceVersion, lenient, plan: part }
    return part
  }

  /**
   * Counts one more entry cached inside a plan. When the total passes `CACHE_BUDGET`, every plan is
   * dropped (the caller's current plan stays usable; the next checks rebuild what they need).
   */
  noteCachedEntry(): void {
    if (++this.cachedEntries <= CACHE_BUDGET) return
    this.cachedEntries = 0
    this.resourceParts.clear()
    this.principalParts.clear()
    this.lastResourcePlan = undefined
    this.lastPrincipalPlan = undefined
  }

  /** A policy key and its existing ancestors (a scoped policy's set includes its whole chain). */
  policyChain(key: string): ReadonlyArray<readonly [string, string]> {
    const out: Array<readonly [string, string]> = []
    const file = this.sources.get(key)
    if (file !== undefined) out.push([key, file])
    const slash = key.indexOf('/')
    // Role policies stand alone; resource and principal policy sets carry their whole scope chain.
    if (slash > 0 && !key.startsWith('role.')) {
      const base = key.slice(0, slash)
      for (const parent of scopeParents(key.slice(slash + 1))) {
        const parentKey = parent === '' ? base : `${base}/${parent}`
        const parentFile = this.sources.get(parentKey)
        if (parentFile !== undefined) out.push([parentKey, parentFile])
      }
    }
    return out
  }

  /** Source file of a policy key, for the audit trail. */
  sourceOf(policyKey: string): string | undefined {
    return this.sources.get(policyKey)
  }

  /** The scope permissions in force at `scope` (set by any resource or principal policy there). */
  scopePermissionsAt(scope: string): ScopePermissions | undefined {
    return this.scopePermissions.get(scope)
  }

  /** Derived roles referenced by the resource policy for (kind, version, scope), if any. */
  derivedRolesAt(kind: string, version: string, scope: string): ReadonlyMap<string, CompiledDerivedRole> | undefined {
    return this.resourcePolicies.get(resourcePolicyKey(kind, version, scope))?.derivedRoles
  }

  /** The resource policy at the root scope for (kind, version): its schemas are the ones in force. */
  rootResourcePolicy(kind: string, version: string): CompiledResourcePolicy | undefined {
    return this.resourcePolicies.get(resourcePolicyKey(kind, version, ''))
  }

  /**
   * The scope chain for a request (most specific first) and the key of its first existing policy.
   * A scope counts if any policy of that family exists there.
   */
  scopeChain(kind: RowKind, scope: string, keyOf: (scope: string) => string, lenient: boolean): { scopes: string[]; key: string } {
    const known = kind === 'principal' ? this.principalScopes : this.resourceScopes
    const scopes: string[] = []
    let key = ''
    if (known.has(scope)) {
      scopes.push(scope)
      key = keyOf(scope)
    } else if (!lenient) {
      return { scopes, key }
    }
    for (let i = scope.length - 1; i >= 0; i--) {
      if (scope[i] === '.' || i === 0) {
        const parent = scope.slice(0, i)
        if (known.has(parent)) {
          scopes.push(parent)
          if (key === '') key = keyOf(parent)
        }
      }
    }
    return { scopes, key }
  }

  /** Whether any resource rows for `resource` exist at `version` in one of `scopes`. */
  resourceExists(version: string, resource: string, scopes: readonly string[]): boolean {
    for (const scope of scopes) {
      for (const target of [this.groups, this.rolePolicyGroups]) {
        if (candidates(target.get(`resource\0${version}\0${scope}`), resource).length > 0) return true
      }
    }
    return false
  }

  /** Whether any principal rows exist at `version` in one of `scopes` (for any principal). */
  principalExists(version: string, scopes: readonly string[]): boolean {
    return scopes.some((scope) => (this.groups.get(`principal\0${version}\0${scope}`)?.all.length ?? 0) > 0)
  }

  /** `roles` plus every ancestor role defined by role policies at `scope`. */
  withParentRoles(scope: string, roles: readonly string[]): string[] {
    const byRole = this.parentRoles.get(scope)
    if (!byRole) return [...roles]
    const out = [...roles]
    for (const role of roles) out.push(...(byRole.get(role) ?? []))
    return out
  }

  /**
   * Rows matching one (version, resource, scope, action, roles) for a policy family. For resource
   * queries, role-policy denials come first.
   */
  query(version: string, resource: string, scope: string, action: string, roles: readonly string[], kind: RowKind, principal: string): readonly Binding[] {
    const out: Binding[] = []
    const rows = candidates(this.groups.get(`${kind}\0${version}\0${scope}`), resource)
    // Rows from candidates() already match the resource.
    const matchesNonAction = (row: Binding): boolean => (principal === '' || row.principal === principal) && roles.some((r) => matchesKey(row.role, r))
    // Like Cerbos' index: nothing at all (not even role-policy denials) unless some row of this
    // scope/version matches the resource, the roles and the principal, whatever its action.
    const rolePolicyRows = kind === 'resource' ? candidates(this.rolePolicyGroups.get(`resource\0${version}\0${scope}`), resource) : NO_ROWS
    if (!rows.some(matchesNonAction) && !rolePolicyRows.some(matchesNonAction)) return out
    if (kind === 'resource') this.appendRolePolicyDenies(version, resource, scope, action, roles, out)
    for (const row of rows) {
      if (row.action === undefined || !matchesKey(row.action, action)) continue
      if (matchesNonAction(row)) out.push(row)
    }
    return out
  }

  private appendRolePolicyDenies(version: string, resource: string, scope: string, action: string, roles: readonly string[], out: Binding[]): void {
    const rows = this.rolePolicyGroups.get(`resource\0${version}\0${scope}`)?.all
    if (!rows) return
    const candidates = rows.filter((r) => roles.some((role) => matchesKey(r.role, role)))
    if (candidates.length === 0) return
    const representative = new Map<string, Binding>()
    for (const r of candidates) if (!representative.has(r.role)) representative.set(r.role, r)
    for (const role of roles) {
      const rep = representative.get(role)
      if (!rep) continue
      const roleRows = candidates.filter((r) => r.role === role && matchesKey(r.resource, resource))
      if (roleRows.length === 0) {
        out.push(noMatchDeny(role, rep.version, rep.scope, resource, action))
        continue
      }
      const matched = roleRows.filter((r) => r.allowActions!.some((a) => a === action || matchesGlob(a, action)))
      if (matched.length === 0) {
        out.push(noMatchDeny(role, roleRows[0]!.version, roleRows[0]!.scope, roleRows[0]!.resource, action))
        continue
      }
      for (const m of matched) {
        if (!m.condition) {
          // A plain allow-list entry has no effect, but its output still fires.
          if (m.output) out.push({ ...m, allowActions: undefined, action, effect: undefined, condition: undefined })
          continue
        }
        out.push({
          ...m,
          allowActions: undefined,
          action,
          effect: 'EFFECT_DENY',
          condition: negate(m.condition),
          // The synthetic row fires when the user's condition is NOT met, so the outputs swap.
          output: m.output ? { ruleActivated: m.output.conditionNotMet, conditionNotMet: m.output.ruleActivated } : undefined,
          scopePermissions: undefined,
        })
      }
    }
  }
}

