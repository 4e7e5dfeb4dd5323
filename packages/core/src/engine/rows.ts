/**
 * Rule-table rows ("bindings"): one per (policy, rule, action, role), with the helpers that build
 * them and look them up by resource.
 */
import type { CompiledCondition, CompiledOutput, CompiledParams } from '../policy/compiled.js'
import { matchesKey } from '../policy/glob.js'
import type { ScopePermissions } from '../policy/model.js'
import { rolePolicyKey } from '../policy/names.js'
import type { Effect } from '../types.js'

/** Which policy family a row belongs to (role-policy rows count as resource rows). */
export type RowKind = 'resource' | 'principal'

/** One row of the rule table. */
export interface Binding {
  readonly kind: RowKind
  readonly version: string
  readonly scope: string
  /** Sanitized resource kind or a glob. */
  readonly resource: string
  /** Role name or glob (`*`). */
  readonly role: string
  /** Action or glob; undefined for role-policy allow-list rows. */
  readonly action: string | undefined
  /** Principal id for principal-policy rows, `''` otherwise. */
  readonly principal: string
  /** Role-policy allow-list (only on role-policy rows). */
  readonly allowActions: readonly string[] | undefined
  /** Undefined for output-only synthetic rows. */
  readonly effect: Effect | undefined
  readonly condition: CompiledCondition | undefined
  readonly derivedRoleCondition: CompiledCondition | undefined
  readonly hasDerivedRole: boolean
  readonly output: CompiledOutput | undefined
  readonly params: CompiledParams | undefined
  readonly derivedRoleParams: CompiledParams | undefined
  /** Key of the policy the row came from (`resource.x.vdefault/acme`). */
  readonly originKey: string
  readonly name: string
  /** `<policy key>#<rule name>` of a named rule (`''` otherwise): how a decision names its rule, built once. */
  readonly ruleId: string
  readonly fromRolePolicy: boolean
  readonly noMatchForScopePermissions: boolean
  /** Condition-cache key: rows of the same rule share it. `''` = never cached. */
  readonly evalKey: string
  readonly scopePermissions: ScopePermissions | undefined
  /** Load order: queries return rows in this order, as Cerbos' index does. */
  readonly seq: number
}

/** The rows of one (family, version, scope), indexed by resource. */
export interface RowGroup {
  readonly all: Binding[]
  readonly byResource: Map<string, Binding[]>
  /** Rows whose resource is a glob. */
  readonly globResource: Binding[]
}

/** The empty row list (shared). */
export const NO_ROWS: readonly Binding[] = Object.freeze([])

/** A writable view of a row while it is being built. */
export type Mutable<T> = { -readonly [K in keyof T]: T[K] }

/** Params of a rule-less pass-through row. */
export const EMPTY_PARAMS: CompiledParams = Object.freeze({ constants: Object.freeze({}), variables: Object.freeze([]) })

/** `none.of: [condition]`: true exactly when `condition` is not. */
export const negate = (condition: CompiledCondition): CompiledCondition => ({ op: 'none', items: [condition] })

/** A row with every optional field unset, overridden by `partial`. */
export function baseRow(partial: Partial<Binding> & Pick<Binding, 'kind' | 'version' | 'scope' | 'originKey'>): Mutable<Binding> {
  const name = partial.name ?? ''
  return {
    resource: '',
    role: '',
    action: undefined,
    principal: '',
    allowActions: undefined,
    effect: undefined,
    condition: undefined,
    derivedRoleCondition: undefined,
    hasDerivedRole: false,
    output: undefined,
    params: undefined,
    derivedRoleParams: undefined,
    name: '',
    fromRolePolicy: false,
    noMatchForScopePermissions: false,
    evalKey: '',
    scopePermissions: undefined,
    seq: 0,
    ...partial,
    ruleId: name === '' ? '' : `${partial.originKey}#${name}`,
  }
}

/** Under REQUIRE_PARENTAL_CONSENT a conditional ALLOW becomes "DENY unless the condition holds". */
export function applyConsent(row: Mutable<Binding>, perms: ScopePermissions): void {
  if (perms === 'SCOPE_PERMISSIONS_REQUIRE_PARENTAL_CONSENT_FOR_ALLOWS' && row.effect === 'EFFECT_ALLOW' && row.condition) {
    row.condition = negate(row.condition)
    row.effect = 'EFFECT_DENY'
  }
}

/** The rows of a group whose resource (literal or glob) matches `resource`, in load order. */
export function candidates(group: RowGroup | undefined, resource: string): readonly Binding[] {
  if (!group) return NO_ROWS
  const exact = group.byResource.get(resource) ?? NO_ROWS
  if (group.globResource.length === 0) return exact
  const globs = group.globResource.filter((r) => matchesKey(r.resource, resource))
  if (globs.length === 0) return exact
  if (exact.length === 0) return globs
  return [...exact, ...globs].sort((a, b) => a.seq - b.seq)
}

/** A denial synthesised for a role whose role policy does not list the action (or resource). */
export function noMatchDeny(role: string, version: string, scope: string, resource: string, action: string): Binding {
  return baseRow({
    kind: 'resource',
    version,
    scope,
    originKey: rolePolicyKey(role, version, scope),
    resource,
    role,
    action,
    effect: 'EFFECT_DENY',
    fromRolePolicy: true,
    noMatchForScopePermissions: true,
  })
}
