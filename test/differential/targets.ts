/**
 * What the differential suites share: a policy directory served by both the real Cerbos PDP and the
 * embedded engine with the same options, started together before the suite and stopped after it,
 * and a bounded-concurrency loop for the requests.
 */
import { afterAll, beforeAll } from 'vitest'
import { EmbeddedEngine, type EmbeddedEngineOptions } from '@meshguard/core'
import { startCerbosPdp, type CerbosPdp } from '../support/cerbos-pdp.js'

/** One policy directory and the options both sides run it with. */
export interface DifferentialTarget {
  name: string
  dir: string
  /** Random requests at scale 1. */
  requests: number
  options: Required<Pick<EmbeddedEngineOptions, 'globals' | 'lenientScopeSearch' | 'schemaEnforcement'>>
}

/** What one side answered: a body, or a rejection message. */
export type Answer = { ok: true; body: unknown } | { ok: false; error: string }

/**
 * Starts every target's PDP and engine together before the suite (PDP start-up dominates
 * otherwise) and stops the PDPs after it. Read the map inside tests.
 */
export function useTargets(targets: readonly DifferentialTarget[]): ReadonlyMap<string, { pdp: CerbosPdp; engine: EmbeddedEngine }> {
  const running = new Map<string, { pdp: CerbosPdp; engine: EmbeddedEngine }>()
  beforeAll(async () => {
    const started = await Promise.allSettled(
      targets.map(async (target) => {
        const [pdp, engine] = await Promise.all([startCerbosPdp({ policyDir: target.dir, ...target.options }), EmbeddedEngine.fromDirectory(target.dir, target.options)])
        running.set(target.name, { pdp, engine })
      }),
    )
    const failed = started.find((s): s is PromiseRejectedResult => s.status === 'rejected')
    if (failed) throw failed.reason
  })
  afterAll(async () => {
    await Promise.all([...running.values()].map(({ pdp }) => pdp.stop()))
  })
  return running
}

/** Runs `task` over `items` with at most `limit` in flight; resolves to the results in order. */
export async function pool<T, R>(items: readonly T[], limit: number, task: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array<R>(items.length)
  let next = 0
  await Promise.all(
    Array.from({ length: limit }, async () => {
      while (next < items.length) {
        const i = next++
        results[i] = await task(items[i] as T, i)
      }
    }),
  )
  return results
}
