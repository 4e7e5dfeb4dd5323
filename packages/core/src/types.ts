/**
 * Public request/response types shared by every part of meshguard. Shapes follow the Cerbos
 * CheckResources API (as in `@cerbos/core`), so users of the Cerbos SDKs feel at home.
 */
/** A JSON value as policies see it. */
export type Value = null | boolean | number | string | Value[] | { [key: string]: Value }

/** Who is acting. In meshguard the principal is the calling workload, with the user in `attr.act.user`. */
export interface Principal {
  id: string
  roles: string[]
  attr?: Record<string, unknown> | undefined
  policyVersion?: string | undefined
  scope?: string | undefined
}

/** What is acted on. */
export interface Resource {
  kind: string
  id: string
  attr?: Record<string, unknown> | undefined
  policyVersion?: string | undefined
  scope?: string | undefined
}

/** One resource and the actions to check on it. */
export interface ResourceCheck {
  resource: Resource
  actions: string[]
}

/** Auxiliary data (Cerbos `auxData`): already-verified JWT claims reach policies as `request.auxData.jwt`. */
export interface AuxData {
  jwt?: Record<string, unknown> | undefined
}

/** A CheckResources request. */
export interface CheckResourcesRequest {
  requestId?: string | undefined
  principal: Principal
  resources: ResourceCheck[]
  auxData?: AuxData | undefined
  /** Include `meta` (matched policy and scope per action, effective derived roles) in results. */
  includeMeta?: boolean | undefined
}

/** A decision effect, spelled as Cerbos spells it. */
export type Effect = 'EFFECT_ALLOW' | 'EFFECT_DENY'

/** Where a schema validation error came from. */
export type ValidationErrorSource = 'SOURCE_PRINCIPAL' | 'SOURCE_RESOURCE'

/** A JSON-schema validation error of principal or resource attributes. */
export interface ValidationError {
  path: string
  message: string
  source: ValidationErrorSource
}

/** An output produced by a rule (`output.when.ruleActivated` / `conditionNotMet`). */
export interface OutputEntry {
  /** Rule identifier, e.g. `resource.leave_request.vdefault#rule-001`. */
  src: string
  val: unknown
}

/** Per-action attribution. */
export interface ActionMeta {
  /** The policy that decided, e.g. `resource.leave_request.vdefault/acme.hr`, or `NO_MATCH`. */
  matchedPolicy: string
  /** The scope of the deciding rule; empty string for the root scope. */
  matchedScope: string
  /**
   * The rule that decided, when one did: `<policy key>#<rule name>` (`…#rule-001` when the policy left
   * it unnamed; the key is of the policy holding the rule, an ancestor of `matchedPolicy` in a scope chain).
   * A meshguard addition: the embedded engine sets it, a Cerbos PDP does not report it.
   */
  matchedRule?: string | undefined
}

/** The result for one resource. */
export interface CheckResourceResult {
  resource: { id: string; kind: string; policyVersion: string; scope: string }
  actions: Record<string, Effect>
  validationErrors: ValidationError[]
  meta?: { actions: Record<string, ActionMeta>; effectiveDerivedRoles: string[] } | undefined
  outputs: OutputEntry[]
}

/** The whole response. */
export interface CheckResourcesResponse {
  requestId: string
  results: CheckResourceResult[]
  /** Evaluation errors met while deciding (conditions that failed to evaluate count as not met). */
  evaluationErrors?: string[] | undefined
  /** Policies that took part, keyed by policy id, for the audit trail. */
  effectivePolicies?: Record<string, { attributes?: Record<string, string> }> | undefined
}

/**
 * What the guard pipeline calls to decide. Implemented by the embedded engine and by the remote
 * Cerbos PDP engine. Implementations never resolve to an allow on failure: they throw a
 * `MeshguardError` instead.
 */
export interface DecisionEngine {
  /** `embedded` or `remote`. */
  readonly kind: 'embedded' | 'remote'
  /** Digest of the policy set in force (sha256 hex), when known. */
  readonly policyDigest?: string | undefined
  /** Decide every action on every resource. */
  checkResources(request: CheckResourcesRequest): Promise<CheckResourcesResponse>
  /**
   * A query plan (Cerbos PlanResources) for a kind of resource, when the engine can plan; list
   * routes need it (the embedded engine has it).
   */
  planResources?(request: PlanResourcesRequest): Promise<PlanResourcesResponse>
}

/**
 * Auxiliary data as the engine takes it: already-verified JWT claims, either one token (`jwt`,
 * read as `request.auxData.jwt.<claim>`) or named tokens (`jwts`, read as
 * `request.auxData.jwts.<name>.claims.<claim>`).
 */
export interface EngineAuxData extends AuxData {
  jwts?: Record<string, { claims: Record<string, unknown> }> | undefined
}

// PlanResources shapes, as the Cerbos 0.55 HTTP API (`POST /api/plan/resources`) has them.

/** The resource side of a plan request: a kind and whatever attributes are already known. */
export interface PlanResource {
  kind: string
  /** Attributes known in advance (the planner folds them in); every other attribute stays a variable. */
  attr?: Record<string, unknown> | undefined
  policyVersion?: string | undefined
  scope?: string | undefined
}

/** A PlanResources request (Cerbos `PlanResourcesRequest`). Give `actions`, or the deprecated `action`. */
export interface PlanResourcesRequest {
  requestId?: string | undefined
  /** @deprecated Cerbos's single-action form; prefer `actions`. */
  action?: string | undefined
  actions?: string[] | undefined
  principal: Principal
  resource: PlanResource
  /** Verified JWT claims (`jwt`, or named `jwts`), as for checks. */
  auxData?: EngineAuxData | undefined
  includeMeta?: boolean | undefined
}

/** A filter operand: a value, a variable (`request.resource.attr.x`) or an expression over operands. */
export type PlanOperand =
  | { value: unknown }
  | { variable: string }
  | { expression: { operator: string; operands: PlanOperand[] } }

/** The kind of a plan: everything, nothing, or the resources meeting `condition`. */
export type PlanFilterKind = 'KIND_ALWAYS_ALLOWED' | 'KIND_ALWAYS_DENIED' | 'KIND_CONDITIONAL'

/** A query plan's filter (Cerbos `PlanResourcesFilter`). */
export interface PlanFilter {
  kind: PlanFilterKind
  /** Present only for `KIND_CONDITIONAL`. */
  condition?: PlanOperand | undefined
}

/** A PlanResources response (Cerbos `PlanResourcesResponse`, without `cerbosCallId`). */
export interface PlanResourcesResponse {
  requestId: string
  /** Echoes the deprecated single `action` when the request used it. */
  action?: string | undefined
  actions?: string[] | undefined
  resourceKind: string
  policyVersion: string
  filter: PlanFilter
  /** With `includeMeta`: the filter as text and the scope each action was decided in. */
  meta?: { filterDebug: string; matchedScope?: string | undefined; matchedScopes?: Record<string, string> | undefined } | undefined
  validationErrors: ValidationError[]
}

/**
 * A condition as an explanation shows it: a leaf expression with its result and the values it read,
 * or an `all` / `any` / `none` node over its items. `result` is `'error'` when evaluation failed.
 */
export type ExplainedCondition =
  | {
      readonly expr: string
      readonly result: boolean | 'error'
      /** The evaluation error, when there was one. */
      readonly error?: string | undefined
      /** The request attributes and variables the expression reads, as it saw them (bounded, maskable). */
      readonly values?: Readonly<Record<string, unknown>> | undefined
    }
  | { readonly op: 'all' | 'any' | 'none'; readonly result: boolean | 'error'; readonly items: readonly ExplainedCondition[] }

/** A derived role as an explanation shows it. */
export interface ExplainedDerivedRole {
  readonly name: string
  readonly scope: string
  /** Whether the principal holds it (a parent role matched and its condition held). */
  readonly active: boolean
  readonly condition?: ExplainedCondition | undefined
}

/** One rule considered for an action. */
export interface ExplainedRule {
  readonly policy: string
  /** Rule name (`rule-001` when unnamed; `''` for role-policy rules). */
  readonly rule: string
  readonly scope: string
  /** The rule's effect (none for output-only rows). */
  readonly effect?: Effect | undefined
  /** The role the rule was found for (`*` for principal-policy rules). */
  readonly role: string
  /** The derived role the rule needs, when it names one. */
  readonly derivedRole?: string | undefined
  /** Whether the rule applied: its derived role (if any) and its condition held. */
  readonly matched: boolean | 'error'
  readonly condition?: ExplainedCondition | undefined
  /** True on the rule whose effect was returned. */
  readonly decided?: true | undefined
}

/** Why one action got its effect. */
export interface ExplainedAction {
  readonly action: string
  readonly effect: Effect
  /** The deciding policy, or `NO_MATCH`. */
  readonly policy: string
  readonly scope: string
  /** The deciding rule, when one decided. */
  readonly rule?: string | undefined
  /** In words, when no rule decided: no policy, no rule matched, a role policy, schema validation. */
  readonly note?: string | undefined
  /** The rules considered, in evaluation order (bounded). */
  readonly rules: readonly ExplainedRule[]
}

/** The explanation of one resource's decisions. */
export interface ExplainedResource {
  readonly resource: { readonly kind: string; readonly id: string; readonly scope?: string | undefined; readonly policyVersion?: string | undefined }
  /** The principal's roles, with the parent roles of role policies. */
  readonly roles: readonly string[]
  readonly derivedRoles: readonly ExplainedDerivedRole[]
  readonly actions: readonly ExplainedAction[]
}

/**
 * Why a CheckResources request was decided as it was: per resource and action, the rules
 * considered, the derived roles activated, each condition with the values it saw, and the rule
 * that decided. Bounded in size; `truncated` says when something was left out.
 */
export interface DecisionExplanation {
  /** The digest of the policy set that decided. */
  readonly policyDigest: string
  readonly resources: readonly ExplainedResource[]
  /** Whether limits cut the explanation short. */
  readonly truncated?: true | undefined
}
