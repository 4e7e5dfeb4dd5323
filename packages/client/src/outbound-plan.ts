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

/** A pinned plan and whether the call that pinned it is still running. */
interface Pin {
  readonly plan: OutboundPlan
  released: boolean
}

const pinned = new AsyncLocalStorage<Pin>()

/**
 * The plan pinned by {@link withPinnedPlan} around the current call, while that call runs. Async
 * contexts outlive calls (a socket opened during a call keeps its context for its later events), so
 * a released pin is ignored rather than applied to some later request.
 */
export function currentPinnedPlan(): OutboundPlan | undefined {
  const pin = pinned.getStore()
  return pin === undefined || pin.released ? undefined : pin.plan
}

/**
 * Runs `fn` with `plan` pinned until it settles: every dispatch made meanwhile on its behalf (fetch
 * follows redirects itself, as new dispatches) is judged against the plan's origin rather than
 * starting a plan of its own.
 */
export async function withPinnedPlan<T>(plan: OutboundPlan, fn: () => Promise<T>): Promise<T> {
  const pin: Pin = { plan, released: false }
  try {
    return await pinned.run(pin, fn)
  } finally {
    pin.released = true
  }
}
