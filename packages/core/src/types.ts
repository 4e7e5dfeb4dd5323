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
