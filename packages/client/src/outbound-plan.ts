import { AsyncLocalStorage } from 'node:async_hooks'

import type { Context } from '@opentelemetry/api'

import type { OutboundActing } from './types.js'

/**
 * What one logical outbound request (the first hop plus any redirects or retries that follow it)
 * was decided to carry, fixed when the request was first dispatched. Later hops reuse it instead of
 * reading the ambient context again: a redirect can be followed from a socket callback whose
 * async context belongs to some other request, and must never pick up that request's user.
 */
export interface OutboundPlan {
  /** The client (its resolved options) that made the plan; another client's dispatches ignore it. */
  readonly owner: object
  /** Canonical origin of the first hop: the only origin that may receive identity headers. */
  readonly origin: string | undefined
  /** Who the request acts for; `undefined` when the service acts as itself. */
  readonly acting: OutboundActing | undefined
  /** The OpenTelemetry context active when the request was made. */
  readonly traceContext: Context
}

const pinned = new AsyncLocalStorage<OutboundPlan>()

/** The plan pinned by {@link runWithPinnedPlan} around the current call, if any. */
export function currentPinnedPlan(): OutboundPlan | undefined {
  return pinned.getStore()
}

/**
 * Runs `fn` with `plan` pinned: every dispatch made inside (fetch follows redirects itself, as new
 * dispatches) is judged against the plan's origin rather than starting a plan of its own.
 */
export function runWithPinnedPlan<T>(plan: OutboundPlan, fn: () => T): T {
  return pinned.run(plan, fn)
}
