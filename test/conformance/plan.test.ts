/**
 * Cerbos PlanResources conformance: every test of plan/suite (common/ in both scope-search modes,
 * strict_scope_search/ and lenient_scope_search/ in theirs) is planned by EmbeddedEngine against
 * plan/policies and its filter compared exactly with the expected one (operands of commutative
 * operators in any order, as the Cerbos harness compares). Failures must be listed in
 * known-failures-plan.md, and only those may fail.
 */
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { EmbeddedEngine, loadPolicyDirectory, type PlanFilter, type PlanResourcesRequest } from '@meshguard/core'
import { stabiliseFilter } from '../support/plan-compare.js'
import { CERBOS_PLAN_DIR, loadKnownFailures, loadPlanSuites, type PlanSuite } from './support/cerbos-cases.js'

const KNOWN_FAILURES_FILE = fileURLToPath(new URL('./known-failures-plan.md', import.meta.url))
/** The harness's fixed inputs: globals, clock and aux data. */
const GLOBALS = { environment: 'test' }
const NOW = new Date('2024-01-16T10:18:27.395+13:00')
const AUX_DATA = { jwt: { customInt: 42 } }

const normalised = (f: unknown): string => JSON.stringify(stabiliseFilter(f))

interface Run {
  mode: 'strict' | 'lenient'
  dirs: string[]
}

const RUNS: Run[] = [
  { mode: 'strict', dirs: ['common', 'strict_scope_search'] },
  { mode: 'lenient', dirs: ['common', 'lenient_scope_search'] },
]

interface Result {
  id: string
  diff: string | undefined
}

describe('Cerbos PlanResources conformance', () => {
  const results: Result[] = []
  let known: Map<string, string>
  const suites = new Map<string, PlanSuite[]>()

  beforeAll(async () => {
    const store = await loadPolicyDirectory(join(CERBOS_PLAN_DIR, 'policies'))
    known = await loadKnownFailures(KNOWN_FAILURES_FILE)
    for (const dir of ['common', 'strict_scope_search', 'lenient_scope_search']) suites.set(dir, await loadPlanSuites(dir))
    for (const run of RUNS) {
      const engine = new EmbeddedEngine(store, { globals: GLOBALS, lenientScopeSearch: run.mode === 'lenient', now: () => NOW })
      for (const dir of run.dirs) {
        for (const suite of suites.get(dir) ?? []) {
          suite.tests.forEach((test, i) => {
            const id = `${run.mode}:${suite.name}#${i}`
            const request: PlanResourcesRequest = {
              requestId: 'requestId',
              principal: suite.principal,
              resource: test.resource,
              actions: test.actions ?? [test.action ?? ''],
              auxData: AUX_DATA,
              includeMeta: true,
            }
            let filter: PlanFilter
            try {
              filter = engine.planResourcesSync(request).filter
            } catch (err) {
              results.push({ id, diff: test.wantErr ? undefined : `threw ${String(err)}` })
              return
            }
            if (test.wantErr) {
              results.push({ id, diff: 'expected an error' })
              return
            }
            const want = normalised(test.want)
            const got = normalised(filter)
            results.push({ id, diff: want === got ? undefined : `want ${want}\n   got ${got}` })
          })
        }
      }
    }
  })

  afterAll(() => {
    const passed = results.filter((r) => r.diff === undefined).length
    console.log(`Cerbos PlanResources conformance (tests x scope-search modes): ${passed}/${results.length}`)
  })

  it('runs every suite: 27 suites, 116 tests (common/ in both modes)', () => {
    const count = (dir: string): number => (suites.get(dir) ?? []).reduce((n, s) => n + s.tests.length, 0)
    const suiteCount = ['common', 'strict_scope_search', 'lenient_scope_search'].reduce((n, d) => n + (suites.get(d)?.length ?? 0), 0)
    expect(suiteCount).toBe(27)
    expect(count('common') + count('strict_scope_search') + count('lenient_scope_search')).toBe(116)
    expect(results).toHaveLength(2 * count('common') + count('strict_scope_search') + count('lenient_scope_search'))
  })

  it('fails exactly the tests listed in known-failures-plan.md', () => {
    const failing = results.filter((r) => r.diff !== undefined)
    const unexpected = failing.filter((r) => !known.has(r.id)).map((r) => `${r.id}: ${r.diff}`)
    const fixed = [...known.keys()].filter((id) => !failing.some((r) => r.id === id))
    expect(unexpected, 'tests failing but not listed').toEqual([])
    expect(fixed, 'tests listed as failing that now pass (remove them from the list)').toEqual([])
  })
})
