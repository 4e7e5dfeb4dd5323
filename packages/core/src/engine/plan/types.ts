/**
 * PlanResources shapes, as the Cerbos 0.55 HTTP API (`POST /api/plan/resources`) has them. They are
 * declared beside the other request/response shapes in `../../types.ts` (which `DecisionEngine`
 * needs, and which imports nothing), and named here for the planner and its users.
 */
export type { PlanFilter, PlanFilterKind, PlanOperand, PlanResource, PlanResourcesRequest, PlanResourcesResponse } from '../../types.js'
