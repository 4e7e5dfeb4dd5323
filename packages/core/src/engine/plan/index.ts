// Public API of the plan module (PlanResources): named exports only.
export type { PlanFilter, PlanFilterKind, PlanOperand, PlanResource, PlanResourcesRequest, PlanResourcesResponse } from './types.js'
export { planPredicate } from './predicate.js'
export type { PlanPredicateOptions, PlanSubject } from './predicate.js'
export { toCerbosSdkPlan } from './sdk-shape.js'
export type { SdkPlanOperand, SdkPlanResourcesResponse } from './sdk-shape.js'
