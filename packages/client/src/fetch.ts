import { MeshguardError } from '@meshguard/core'
import { Agent, fetch as undiciFetch, type Dispatcher, type RequestInfo, type RequestInit, type Response } from 'undici'

import { canonicalOrigin } from './destinations.js'
import { interceptorFor, newPlan } from './interceptor.js'
import { withPinnedPlan } from './outbound-plan.js'
import { resolveClientOptions } from './resolve-options.js'
import type { MeshguardClientOptions } from './types.js'

/** Options of {@link createMeshguardFetch}. */
export interface MeshguardFetchOptions extends MeshguardClientOptions {
  /**
   * The dispatcher to compose the interceptor onto (connection pooling, TLS, proxies).
   *
   * @defaultValue a new undici `Agent`, closed by {@link MeshguardFetch.close}
   */
  dispatcher?: Dispatcher | undefined
}

/** undici's `fetch`, with every call going through the meshguard interceptor. */
export interface MeshguardFetch {
  /**
   * Same contract as undici's `fetch`; `init.dispatcher` is always replaced by {@link dispatcher}.
   * Rejects with the `MeshguardError` itself (e.g. `MintError`) when the client refused to send,
   * instead of fetch's generic `TypeError('fetch failed')`.
   */
  (input: RequestInfo, init?: RequestInit): Promise<Response>
  /** The composed dispatcher, usable with undici's `request`, `stream`, ... as well. */
  readonly dispatcher: Dispatcher
  /**
   * Closes the dispatcher if this fetch created it; a dispatcher passed in is left to its owner.
   * Bound: it may be passed on as it is (`closers.push(fetch.close)`).
   */
  readonly close: () => Promise<void>
}

/**
 * A `fetch` that mints a workload token per callee and forwards the actor. It uses undici's own
 * `fetch` (Node 20's global `fetch` bundles an older undici and must not be mixed with this
 * dispatcher). Fetch follows redirects itself; any hop to an origin other than the one first
 * requested is sent without identity headers.
 *
 * @example
 * ```ts
 * const fetch = createMeshguardFetch({ identity, destinations: { 'http://reviews.internal:8080': 'spiffe://acme/reviews' } })
 * const res = await fetch('http://reviews.internal:8080/reviews/7')
 * ```
 * @throws ConfigError (`ERR_AUTHZ_INVALID_CONFIG`) for bad options; each call rejects with
 *   `MintError` (`ERR_AUTHZ_MINT_FAILED`) when no token could be minted or the origin is refused.
 */
export function createMeshguardFetch(options: MeshguardFetchOptions): MeshguardFetch {
  const resolved = resolveClientOptions(options)
  const owned = options.dispatcher === undefined ? new Agent() : undefined
  const dispatcher = (options.dispatcher ?? owned!).compose(interceptorFor(resolved))

  const meshguardFetch = async (input: RequestInfo, init?: RequestInit): Promise<Response> => {
    // Fix who this call acts for, and the only origin that may get identity, before fetch starts.
    const plan = newPlan(resolved, originOf(input))
    try {
      return await withPinnedPlan(plan, async () => undiciFetch(input, { ...init, dispatcher }))
    } catch (err) {
      throw unwrapRefusal(err)
    }
  }
  return Object.assign(meshguardFetch, {
    dispatcher,
    close: async (): Promise<void> => {
      await owned?.close()
    },
  })
}

function originOf(input: RequestInfo): string | undefined {
  if (typeof input === 'string') return canonicalOrigin(input)
  if (input instanceof URL) return canonicalOrigin(input)
  return canonicalOrigin(input.url)
}

function unwrapRefusal(err: unknown): unknown {
  if (err instanceof TypeError && err.cause instanceof MeshguardError) return err.cause
  return err
}
