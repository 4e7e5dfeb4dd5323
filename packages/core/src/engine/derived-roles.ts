/**
 * The derived-role pass of a check: when the scope walk of resource policies reaches a scope, the
 * derived roles its policy references are evaluated once, giving `runtime.effectiveDerivedRoles`
 * and the check's `effectiveDerivedRoles` (Cerbos' backwards-compatible scope pass).
 */
import type { CompiledCondition, CompiledParams } from '../policy/compiled.js'
import { derivedRoleVariablesOf, type InputCheck, type ScopedRoles } from './check-state.js'

/** Whether a derived role's parent roles (`*` = any) meet the principal's roles. */
export function appliesTo(parentRoles: readonly string[], roles: ReadonlySet<string>): boolean {
  for (const r of parentRoles) if (r === '*' || roles.has(r)) return true
  return false
}

const pureConditions = new WeakMap<CompiledCondition, boolean>()

const readsNoVariables = (src: string): boolean => !/\b(V|variables)\b/.test(src)

function collectSources(c: CompiledCondition, into: string[]): void {
  if (c.op === 'expr') into.push(c.program.source)
  else for (const item of c.items) collectSources(item, into)
}

/**
 * A derived-role condition gives the same result in the scope pass and in a rule row when it reads
 * no variables and not `runtime` (the only inputs that differ between the two).
 */
function isPure(condition: CompiledCondition, params: CompiledParams): boolean {
  if (params.variables.length > 0) return false
  let pure = pureConditions.get(condition)
  if (pure === undefined) {
    const sources: string[] = []
    collectSources(condition, sources)
    pure = sources.every((src) => !src.includes('runtime') && readsNoVariables(src))
    pureConditions.set(condition, pure)
  }
  return pure
}

/** The derived roles of `scope` for this check, evaluated on the first visit. */
export function derivedRolesAt(c: InputCheck, scope: string): ScopedRoles {
  if (scope === c.firstScope && c.firstScopeRoles !== undefined) return c.firstScopeRoles
  const done = c.scopedDerivedRoles?.get(scope)
  if (done) return done
  const roles = evaluateDerivedRoles(c, scope)
  if (c.firstScopeRoles === undefined) {
    c.firstScope = scope
    c.firstScopeRoles = roles
  } else (c.scopedDerivedRoles ??= new Map()).set(scope, roles)
  return roles
}

/** Evaluates the derived roles `scope`'s policy references (a role whose condition fails to evaluate is neither active nor inactive). */
function evaluateDerivedRoles(c: InputCheck, scope: string): ScopedRoles {
  const active: string[] = []
  let failedRoles: string[] | undefined
  for (const dr of c.plan.derivedRoles.get(scope) ?? []) {
    if (!appliesTo(dr.parentRoles, c.parentSet)) continue
    const ok = c.ctx.satisfies(dr.condition, dr.params.constants, derivedRoleVariablesOf(c, dr.params))
    if (ok === undefined) {
      ;(failedRoles ??= []).push(dr.name)
      continue
    }
    // Rule rows that carry the same condition reuse this answer (and its errors, already recorded).
    if (dr.condition && isPure(dr.condition, dr.params)) (c.drConditionMemo ??= new Map()).set(dr.condition, ok)
    if (ok) {
      active.push(dr.name)
      if (!c.effectiveDerivedRoles.includes(dr.name)) c.effectiveDerivedRoles.push(dr.name)
    }
  }
  if (active.length > 1) active.sort()
  return { active, failed: failedRoles?.sort() }
}
