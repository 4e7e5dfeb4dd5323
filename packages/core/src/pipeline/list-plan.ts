/**
 * The plan a list handler receives: the engine's PlanResources answer plus ready helpers. The
 * in-memory predicate is compiled on first use only (a handler that filters in SQL never pays for it).
 */
import { planPredicate, type PlanSubject } from '../engine/plan/predicate.js'
import type { PlanResourcesResponse } from '../engine/plan/types.js'
import type { ListPlan } from './types.js'

const asSubject = (item: unknown): PlanSubject => item as PlanSubject

/** A frozen {@link ListPlan} over one PlanResources answer. */
export function listPlanOf(id: string, resource: string, action: string, response: PlanResourcesResponse): ListPlan {
  let predicate: ((subject: PlanSubject) => boolean) | undefined
  const allows = (subject: PlanSubject): boolean => (predicate ??= planPredicate(response.filter))(subject)
  return Object.freeze({
    id,
    kind: response.filter.kind,
    resource,
    action,
    filter: response.filter,
    response,
    allows,
    keep<T>(items: readonly T[], subjectOf: (item: T) => PlanSubject = asSubject): T[] {
      if (response.filter.kind === 'KIND_ALWAYS_DENIED') return []
      if (response.filter.kind === 'KIND_ALWAYS_ALLOWED') return [...items]
      return items.filter((item) => allows(subjectOf(item)))
    },
  })
}
