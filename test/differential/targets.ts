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
  }, 120_000)
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

/**
 * The differences found in one run: the first example of each kind of difference in full (request
 * and both answers), the rest by number.
 */
export class Divergences {
  private readonly lines: string[] = []
  private readonly byKind = new Map<string, number>()

  /** Notes request `index` when `kinds` (what differed) is not empty. */
  note(index: number, kinds: readonly string[], request: unknown, theirs: Answer, ours: Answer): void {
    if (kinds.length === 0) return
    const firstOfKind = kinds.some((kind) => !this.byKind.has(kind))
    for (const kind of kinds) this.byKind.set(kind, (this.byKind.get(kind) ?? 0) + 1)
    this.lines.push(
      firstOfKind
        ? `#${index} differs in ${kinds.join(', ')}\n  request ${JSON.stringify(request)}\n  cerbos: ${JSON.stringify(theirs)}\n  engine: ${JSON.stringify(ours)}`
        : `#${index} differs in ${kinds.join(', ')}`,
    )
  }

  get count(): number {
    return this.lines.length
  }

  /** `N divergent (kind: n, …)` for the run's summary line. */
  summary(): string {
    return `${this.lines.length} divergent${this.byKind.size > 0 ? ` (${[...this.byKind].map(([k, n]) => `${k}: ${n}`).join(', ')})` : ''}`
  }

  /** The full examples, for the failure message. */
  examples(): string {
    return this.lines.filter((line) => line.includes('\n')).join('\n')
  }
}
