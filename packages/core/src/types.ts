/**
 * Public request/response types shared by every part of meshguard. Shapes follow the Cerbos
 * CheckResources API (as in `@cerbos/core`), so users of the Cerbos SDKs feel at home.
 */
import type { PlanResourcesRequest, PlanResourcesResponse } from './engine/plan/types.js'

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
