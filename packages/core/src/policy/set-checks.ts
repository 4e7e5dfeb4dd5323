/**
 * Checks across a whole policy set that the Cerbos index makes before compiling: scope-permission
 * conflicts and missing scope ancestors.
 */
import type { PolicyIssue } from '../errors.js'
import { matchesGlob } from './glob.js'
import { principalPolicyKey, resourcePolicyKey, scopeParents } from './names.js'
import type { ValidatedDocument } from './validate-document.js'
import { issueAt } from './yaml-source.js'

/**
 * Policies sharing a scope must agree on `scopePermissions`. Cerbos' index never records the first
 * policy of a scope (only later ones), so e.g. OVERRIDE + REQUIRE in two files pass and a third file
 * decides; this reproduces that exactly.
 *
 * @param docs - enabled, distinct policies in load (directory walk) order
 */
export function scopePermissionConflicts(docs: readonly ValidatedDocument[]): PolicyIssue[] {
  const issues: PolicyIssue[] = []
  const scopeValues = new Map<string, Set<string>>()
  const conflicting = new Set<string>()
  for (const v of docs) {
    const scoped = v.def.resourcePolicy ?? v.def.principalPolicy ?? v.def.rolePolicy
    const scope = scoped?.scope ?? ''
    const perms = (v.def.resourcePolicy ?? v.def.principalPolicy)?.scopePermissions ?? 'SCOPE_PERMISSIONS_UNSPECIFIED'
    const seen = scopeValues.get(scope)
    if (!seen) {
      scopeValues.set(scope, new Set())
    } else if (!conflicting.has(scope)) {
      seen.add(perms)
      if (seen.size > 1) {
        conflicting.add(scope)
        issues.push(issueAt(v.doc, [], `policies sharing scope ${scope} have conflicting scopePermissions`))
      }
    }
  }
  return issues
}

/**
 * Every scoped resource or principal policy needs all its ancestors. Like Cerbos, which compiles a
 * policy and then its ancestors nearest first and stops at the first failure, missing ancestors are
 * reported only when the policy and the ancestors before the gap compiled cleanly.
 *
 * A role policy with a rule for the resource kind fills a gap as far as loading goes; Cerbos then
 * cannot compile the policy below the gap and leaves it out (its scope answers NO_MATCH), so such a
 * policy is `dropped` without an issue.
 *
 * @param doc - the policy to check
 * @param key - its policy key
 * @param present - every enabled policy by key
 * @param failed - keys of policies that had compile issues
 */
export function checkAncestors(
  doc: ValidatedDocument,
  key: string,
  present: ReadonlyMap<string, ValidatedDocument>,
  failed: ReadonlySet<string>,
): { issues: PolicyIssue[]; dropped: boolean } {
  const ok = { issues: [], dropped: false }
  const { def } = doc
  let scope: string
  let keyOf: (scope: string) => string
  if (def.resourcePolicy) {
    const rp = def.resourcePolicy
    scope = rp.scope ?? ''
    keyOf = (s) => resourcePolicyKey(rp.resource, rp.version, s)
  } else if (def.principalPolicy) {
    const pp = def.principalPolicy
    scope = pp.scope ?? ''
    keyOf = (s) => principalPolicyKey(pp.principal, pp.version, s)
  } else {
    return ok
  }
  if (scope === '' || failed.has(key)) return ok
  const rp = def.resourcePolicy
  const filled = (parentScope: string): boolean =>
    rp !== undefined &&
    [...present.values()].some((v) => {
      const role = v.def.rolePolicy
      return (
        role !== undefined &&
        (role.scope ?? '') === parentScope &&
        (role.version || 'default') === rp.version &&
        (role.rules ?? []).some((r) => matchesGlob(r.resource, rp.resource))
      )
    })
  const parents = scopeParents(scope).map((s) => ({ key: keyOf(s), exists: present.has(keyOf(s)), filled: filled(s) }))
  for (const parent of parents) {
    if (!parent.exists) {
      const missing = parents.filter((p) => !p.exists && !p.filled)
      return { issues: missing.map((m) => issueAt(doc.doc, [], `Missing ancestor policy "${m.key}"`)), dropped: true }
    }
    if (failed.has(parent.key)) return ok
  }
  return ok
}
