/**
 * PlanResources shapes, as the Cerbos 0.55 HTTP API (`POST /api/plan/resources`) has them.
 */
import type { EngineAuxData } from '../types.js'
import type { Principal, ValidationError } from '../../types.js'

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
