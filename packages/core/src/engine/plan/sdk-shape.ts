/**
 * A plan in the shape of the Cerbos JavaScript SDK (`@cerbos/core`'s `PlanResourcesResponse`), the
 * input of Cerbos's ORM adapters (`@cerbos/orm-prisma`, ...): the filter's kind and condition at the
 * top level, operands as `{ operator, operands }`, `{ value }` and `{ name }`.
 */
import type { ValidationError } from '../../types.js'
import type { PlanOperand, PlanResourcesResponse } from './types.js'

/** A condition operand in the SDK's shape. */
export type SdkPlanOperand = { operator: string; operands: SdkPlanOperand[] } | { value: unknown } | { name: string }

/** A PlanResources response in the SDK's shape (`cerbosCallId` is `''`: no PDP call was made). */
export interface SdkPlanResourcesResponse {
  cerbosCallId: string
  requestId: string
  validationErrors: ValidationError[]
  metadata: { conditionString: string; matchedScope: string; matchedScopes: Record<string, string> } | undefined
  kind: 'KIND_ALWAYS_ALLOWED' | 'KIND_ALWAYS_DENIED' | 'KIND_CONDITIONAL'
  /** Present for `KIND_CONDITIONAL` only. */
  condition?: SdkPlanOperand
}

function operandOf(op: PlanOperand): SdkPlanOperand {
  if ('expression' in op) return { operator: op.expression.operator, operands: op.expression.operands.map(operandOf) }
  if ('variable' in op) return { name: op.variable }
  return { value: op.value }
}

/**
 * Converts a plan to the Cerbos SDK's response shape, so code written for `@cerbos/core` (such as
 * `queryPlanToPrisma({ queryPlan })` of `@cerbos/orm-prisma`) takes it unchanged.
 *
 * @example
 * ```ts
 * const queryPlan = toCerbosSdkPlan(engine.planResourcesSync({ principal, resource: { kind: 'review' }, actions: ['read'] }))
 * ```
 */
export function toCerbosSdkPlan(response: PlanResourcesResponse): SdkPlanResourcesResponse {
  const { meta, filter } = response
  const out: SdkPlanResourcesResponse = {
    cerbosCallId: '',
    requestId: response.requestId,
    validationErrors: response.validationErrors,
    metadata: meta && { conditionString: meta.filterDebug, matchedScope: meta.matchedScope ?? '', matchedScopes: meta.matchedScopes ?? {} },
    kind: filter.kind,
  }
  if (filter.kind === 'KIND_CONDITIONAL' && filter.condition !== undefined) out.condition = operandOf(filter.condition)
  return out
}
