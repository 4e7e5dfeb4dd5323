/**
 * What a check reads through the caches of its request shape's plans: role ancestors, rule-table
 * query results and the policies consulted. Each answers exactly what the rule table would; every
 * entry added counts against the table's cache budget.
 */
import type { InputCheck } from './check-state.js'
import type { ResourcePlan } from './plans.js'
import type { Binding, RowKind, RuleTable } from './rule-table.js'
import { tupleKey } from './tuple-key.js'

/** A role and its role-policy ancestors at the resource scope. */
export function parentRolesOf(table: RuleTable, plan: ResourcePlan, resourceScope: string, role: string): readonly string[] {
  let roles = plan.parentRoles.get(role)
  if (!roles) {
    roles = table.withParentRoles(resourceScope, [role])
    plan.parentRoles.set(role, roles)
    table.noteCachedEntry()
  }
  return roles
}

/** The principal's roles and all their role-policy ancestors at the resource scope. */
export function rolesWithParents(table: RuleTable, plan: ResourcePlan, resourceScope: string, roles: readonly string[]): ReadonlySet<string> {
  // One role is its own key (the usual case, no string built); a list is length-prefixed after a NUL
  // no lone role can start with here.
  const [onlyRole] = roles
  const key = roles.length === 1 && !(onlyRole as string).startsWith('\0') ? (onlyRole as string) : `\0${tupleKey(roles)}`
  let all = plan.includingParentRoles.get(key)
  if (!all) {
    const found = new Set<string>()
    for (const role of roles) for (const r of parentRolesOf(table, plan, resourceScope, role)) found.add(r)
    all = found
    if (plan.includingParentRoles.size > 1_000) plan.includingParentRoles.clear()
    plan.includingParentRoles.set(key, found)
    table.noteCachedEntry()
  }
  return all
}

/** The rule-table rows of one (family, scope, action, role) for this check's request shape. */
export function rowsFor(c: InputCheck, kind: RowKind, scope: string, action: string, role: string): readonly Binding[] {
  const rows = (kind === 'principal' ? c.pplan.queries : c.plan.queries).get(scope)?.get(action)?.get(role)
  return rows ?? queryAndRemember(c, kind, scope, action, role)
}

/** A query the plan has not seen: asked of the rule table and remembered (each level bounded). */
function queryAndRemember(c: InputCheck, kind: RowKind, scope: string, action: string, role: string): readonly Binding[] {
  const byScope = kind === 'principal' ? c.pplan.queries : c.plan.queries
  let byAction = byScope.get(scope)
  if (!byAction) byScope.set(scope, (byAction = new Map<string, Map<string, readonly Binding[]>>()))
  let byRole = byAction.get(action)
  if (!byRole) {
    if (byAction.size > 2_000) byAction.clear()
    byAction.set(action, (byRole = new Map<string, readonly Binding[]>()))
  }
  const { table, plan } = c
  const principalId = kind === 'principal' ? c.input.principal.id : ''
  const rows = table.query(c.resourceVersion, plan.sanitizedResource, scope, action, parentRolesOf(table, plan, c.resourceScope, role), kind, principalId)
  if (byRole.size > 1_000) byRole.clear()
  byRole.set(role, rows)
  table.noteCachedEntry()
  return rows
}

/** The source files of every policy consulted (and their scope ancestors), by policy key. */
export function effectivePoliciesOf(table: RuleTable, plan: ResourcePlan, consulted: readonly string[]): Readonly<Record<string, string>> {
  const key = consulted.length === 1 ? (consulted[0] as string) : consulted.join('\0')
  let policies = plan.effectivePolicies.get(key)
  if (!policies) {
    const record: Record<string, string> = {}
    for (const policyKey of consulted) for (const [k, file] of table.policyChain(policyKey)) record[k] = file
    policies = Object.freeze(record)
    if (plan.effectivePolicies.size > 1_000) plan.effectivePolicies.clear()
    plan.effectivePolicies.set(key, policies)
    table.noteCachedEntry()
  }
  return policies
}
