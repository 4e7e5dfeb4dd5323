/**
 * The policy document as written (after shape validation against the Cerbos schema). Field names
 * follow the Cerbos protobuf JSON names.
 */

/** A `match` block: exactly one of `expr`, `all`, `any`, `none`. */
export interface MatchDef {
  expr?: string
  all?: { of: MatchDef[] }
  any?: { of: MatchDef[] }
  none?: { of: MatchDef[] }
}

/** A rule or derived-role condition. `script` (Rego) is no longer supported. */
export interface ConditionDef {
  match?: MatchDef
  script?: string
}

/** A rule output. */
export interface OutputDef {
  /** Deprecated: same as `when.ruleActivated`. */
  expr?: string
  when?: { ruleActivated?: string; conditionNotMet?: string }
}

/** `variables` block of a policy. */
export interface VariablesDef {
  import?: string[]
  local?: Record<string, string>
}

/** `constants` block of a policy. */
export interface ConstantsDef {
  import?: string[]
  local?: Record<string, unknown>
}

/** A JSON-schema reference of a resource policy. */
export interface SchemaRefDef {
  ref: string
  ignoreWhen?: { actions: string[] }
}

/** Resource policy rule. */
export interface ResourceRuleDef {
  actions: string[]
  effect: 'EFFECT_ALLOW' | 'EFFECT_DENY'
  roles?: string[]
  derivedRoles?: string[]
  condition?: ConditionDef
  name?: string
  output?: OutputDef
}

/** Scope permission modes. */
export type ScopePermissions = 'SCOPE_PERMISSIONS_OVERRIDE_PARENT' | 'SCOPE_PERMISSIONS_REQUIRE_PARENTAL_CONSENT_FOR_ALLOWS'

/** `resourcePolicy`. */
export interface ResourcePolicyDef {
  resource: string
  version: string
  scope?: string
  scopePermissions?: ScopePermissions | 'SCOPE_PERMISSIONS_UNSPECIFIED'
  importDerivedRoles?: string[]
  rules?: ResourceRuleDef[]
  schemas?: { principalSchema?: SchemaRefDef; resourceSchema?: SchemaRefDef }
  variables?: VariablesDef
  constants?: ConstantsDef
}

/** `principalPolicy`. */
export interface PrincipalPolicyDef {
  principal: string
  version: string
  scope?: string
  scopePermissions?: ScopePermissions | 'SCOPE_PERMISSIONS_UNSPECIFIED'
  rules?: Array<{
    resource: string
    actions: Array<{
      action: string
      effect: 'EFFECT_ALLOW' | 'EFFECT_DENY'
      condition?: ConditionDef
      name?: string
      output?: OutputDef
    }>
  }>
  variables?: VariablesDef
  constants?: ConstantsDef
}

/** `rolePolicy`. */
export interface RolePolicyDef {
  role: string
  version?: string
  scope?: string
  parentRoles?: string[]
  rules?: Array<{ resource: string; allowActions: string[]; condition?: ConditionDef; name?: string; output?: OutputDef }>
  variables?: VariablesDef
  constants?: ConstantsDef
}

/** `derivedRoles`. */
export interface DerivedRolesDef {
  name: string
  definitions: Array<{ name: string; parentRoles: string[]; condition?: ConditionDef }>
  variables?: VariablesDef
  constants?: ConstantsDef
}

/** `exportVariables`. */
export interface ExportVariablesDef {
  name: string
  definitions?: Record<string, string>
}

/** `exportConstants`. */
export interface ExportConstantsDef {
  name: string
  definitions?: Record<string, unknown>
}

/** A whole policy document. Exactly one of the kind keys is present. */
export interface PolicyDocumentDef {
  apiVersion: string
  description?: string
  disabled?: boolean
  metadata?: { annotations?: Record<string, string> }
  /** Deprecated top-level variables, merged into the policy's local variables. */
  variables?: Record<string, string>
  resourcePolicy?: ResourcePolicyDef
  principalPolicy?: PrincipalPolicyDef
  rolePolicy?: RolePolicyDef
  derivedRoles?: DerivedRolesDef
  exportVariables?: ExportVariablesDef
  exportConstants?: ExportConstantsDef
}

/** The six policy kinds, by their document key. */
export const POLICY_KIND_KEYS = [
  'resourcePolicy',
  'principalPolicy',
  'rolePolicy',
  'derivedRoles',
  'exportVariables',
  'exportConstants',
] as const

/** One of the policy kind keys. */
export type PolicyKindKey = (typeof POLICY_KIND_KEYS)[number]
