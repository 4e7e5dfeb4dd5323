/**
 * The compiled policy set: every expression compiled once, imports resolved, variables ordered.
 * The engine builds its rule table from this; nothing here is re-parsed at check time.
 */
import type { CelProgram } from '../cel/index.js'
import type { PolicyIssue } from '../errors.js'
import type { Effect } from '../types.js'
import type { ScopePermissions, SchemaRefDef } from './model.js'
import type { SchemaRegistry } from './schemas.js'

/** A compiled `match` tree. */
export type CompiledCondition =
  | { readonly op: 'expr'; readonly program: CelProgram }
  | { readonly op: 'all' | 'any' | 'none'; readonly items: readonly CompiledCondition[] }

/** A compiled rule output. */
export interface CompiledOutput {
  readonly ruleActivated?: CelProgram | undefined
  readonly conditionNotMet?: CelProgram | undefined
}

/** A variable, in evaluation order. */
export interface CompiledVariable {
  readonly name: string
  readonly program: CelProgram
}

/** Constants and the (used, dependency-ordered) variables of one policy or derived role. */
export interface CompiledParams {
  readonly constants: Readonly<Record<string, unknown>>
  readonly variables: readonly CompiledVariable[]
}

/** A derived role as imported by a resource policy. */
export interface CompiledDerivedRole {
  readonly name: string
  /** Parent roles; `['*']` means any role. */
  readonly parentRoles: readonly string[]
  readonly condition?: CompiledCondition | undefined
  readonly params: CompiledParams
  /** The derived-roles set it came from. */
  readonly setName: string
}

/** A resource-policy rule. */
export interface CompiledResourceRule {
  readonly name: string
  readonly actions: readonly string[]
  /** Static roles; `['*']` means any role. */
  readonly roles: readonly string[]
  readonly derivedRoles: readonly string[]
  readonly effect: Effect
  readonly condition?: CompiledCondition | undefined
  readonly output?: CompiledOutput | undefined
}

/** Fields every compiled resource, principal and role policy has. */
interface CompiledPolicyBase {
  /** `resource.<kind>.v<version>[/<scope>]` and friends. */
  readonly key: string
  /** Source file relative to the policy directory. */
  readonly file: string
  readonly version: string
  readonly scope: string
  readonly params: CompiledParams
  readonly annotations: Readonly<Record<string, string>>
}

/** A resource policy. */
export interface CompiledResourcePolicy extends CompiledPolicyBase {
  readonly kind: 'resource'
  readonly resource: string
  readonly scopePermissions: ScopePermissions
  readonly rules: readonly CompiledResourceRule[]
  /** Derived roles referenced by the rules, by name. */
  readonly derivedRoles: ReadonlyMap<string, CompiledDerivedRole>
  readonly schemas?: { readonly principalSchema?: SchemaRefDef | undefined; readonly resourceSchema?: SchemaRefDef | undefined } | undefined
}

/** A principal-policy action rule. */
export interface CompiledPrincipalRule {
  readonly name: string
  readonly resource: string
  readonly action: string
  readonly effect: Effect
  readonly condition?: CompiledCondition | undefined
  readonly output?: CompiledOutput | undefined
}

/** A principal policy. */
export interface CompiledPrincipalPolicy extends CompiledPolicyBase {
  readonly kind: 'principal'
  readonly principal: string
  readonly scopePermissions: ScopePermissions
  readonly rules: readonly CompiledPrincipalRule[]
}

/** A role-policy rule (an allow-list entry). */
export interface CompiledRoleRule {
  readonly name: string
  readonly resource: string
  readonly allowActions: readonly string[]
  readonly condition?: CompiledCondition | undefined
  readonly output?: CompiledOutput | undefined
}

/** A role policy. */
export interface CompiledRolePolicy extends CompiledPolicyBase {
  readonly kind: 'role'
  readonly role: string
  readonly parentRoles: readonly string[]
  readonly rules: readonly CompiledRoleRule[]
}

/** Any policy the engine evaluates. */
export type CompiledPolicy = CompiledResourcePolicy | CompiledPrincipalPolicy | CompiledRolePolicy

/** A whole compiled policy set, ready for the engine. */
export interface CompiledPolicySet {
  /** Every enabled resource, principal and role policy. */
  readonly policies: readonly CompiledPolicy[]
  /** Attribute JSON schemas by `cerbos:///` reference. */
  readonly schemas: SchemaRegistry
  /** sha256 (hex) over the sorted (relative path, content) pairs of the inputs. */
  readonly digest: string
  /**
   * Problems that do not stop the set from loading, e.g. an attribute path that the policy's
   * schema does not define (`request.resource.attr.ownr`). Evaluation is the same with or without them.
   */
  readonly warnings: readonly PolicyIssue[]
}
