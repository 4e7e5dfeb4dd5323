/**
 * Cerbos engine conformance: every case of cases/engine (in both scope-search modes),
 * engine_strict_scope_search, engine_lenient_scope_search and engine_schema_enforcement/{warn,reject}
 * is run through EmbeddedEngine and compared tier by tier. Cases that still fail must be listed in
 * known-failures-engine.md, and only those may fail.
 */
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { EmbeddedEngine, loadPolicyDirectory, type CheckInput, type CheckOutput, type CompiledPolicySet, type EmbeddedEngineOptions } from '@meshguard/core'
import { CERBOS_STORE_DIR, CERBOS_TEST_GLOBALS, loadEngineCases, loadKnownFailures, type EngineCase, type WantOutput } from './support/cerbos-cases.js'

const KNOWN_FAILURES_FILE = fileURLToPath(new URL('./known-failures-engine.md', import.meta.url))

/** The comparison tiers, in the order the README suggests. */
const TIERS = ['effects', 'attribution', 'derivedRoles', 'outputs', 'validationErrors', 'evaluationErrors', 'auditTrail'] as const
type Tier = (typeof TIERS)[number]

interface Run {
  /** Prefix of the case ids, e.g. `strict`. */
  mode: string
  dir: string
  options: EmbeddedEngineOptions
}

const RUNS: Run[] = [
  { mode: 'strict', dir: 'engine', options: {} },
  { mode: 'lenient', dir: 'engine', options: { lenientScopeSearch: true } },
  { mode: 'strict', dir: 'engine_strict_scope_search', options: {} },
  { mode: 'lenient', dir: 'engine_lenient_scope_search', options: { lenientScopeSearch: true } },
  { mode: 'warn', dir: 'engine_schema_enforcement/warn', options: { schemaEnforcement: 'warn' } },
  { mode: 'reject', dir: 'engine_schema_enforcement/reject', options: { schemaEnforcement: 'reject' } },
]

const byKey = <T>(items: readonly T[], key: (t: T) => string): T[] => [...items].sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0))

/** JSON numbers are doubles on both sides; normalise through JSON. */
const norm = (v: unknown): unknown => JSON.parse(JSON.stringify(v ?? null)) as unknown

/** Compares one output with its expectation; returns the failing tiers with a short diff each. */
function compare(want: WantOutput, got: CheckOutput): Map<Tier, string> {
  const fails = new Map<Tier, string>()
  const wantActions = Object.keys(want.actions).sort()
  const gotActions = Object.keys(got.actions).sort()
  const effects = wantActions.map((a) => `${a}=${want.actions[a]?.effect}`).join(',')
  const gotEffects = gotActions.map((a) => `${a}=${got.actions[a]?.effect}`).join(',')
  if (effects !== gotEffects) fails.set('effects', `want ${effects} got ${gotEffects}`)
  const attribution = (m: Record<string, { policy: string; scope?: string }>, keys: string[]): string => keys.map((a) => `${a}@${m[a]?.policy}|${m[a]?.scope ?? ''}`).join(',')
  if (attribution(want.actions, wantActions) !== attribution(got.actions, gotActions)) {
    fails.set('attribution', `want ${attribution(want.actions, wantActions)} got ${attribution(got.actions, gotActions)}`)
  }
  const wantRoles = [...new Set(want.effectiveDerivedRoles ?? [])].sort().join(',')
  const gotRoles = [...new Set(got.effectiveDerivedRoles)].sort().join(',')
  if (wantRoles !== gotRoles) fails.set('derivedRoles', `want [${wantRoles}] got [${gotRoles}]`)
  const outputs = (list: ReadonlyArray<{ src: string; action?: string; val?: unknown; error?: string | undefined }>): string =>
    JSON.stringify(byKey(list, (o) => `${o.src}\0${o.action ?? ''}\0${JSON.stringify(o.val ?? null)}`).map((o) => (o.error !== undefined ? { src: o.src, action: o.action, error: o.error } : { src: o.src, action: o.action, val: norm(o.val) })))
  if (outputs(want.outputs ?? []) !== outputs(got.outputs)) fails.set('outputs', `want ${outputs(want.outputs ?? [])} got ${outputs(got.outputs)}`)
  const verrs = (list: ReadonlyArray<{ path: string; message: string; source: string }>): string =>
    JSON.stringify(byKey(list, (e) => `${e.source}\0${e.path}\0${e.message}`).map((e) => ({ path: e.path, message: e.message, source: e.source })))
  if (verrs(want.validationErrors ?? []) !== verrs(got.validationErrors)) fails.set('validationErrors', `want ${verrs(want.validationErrors ?? [])} got ${verrs(got.validationErrors)}`)
  const wantEval = JSON.stringify((want.evaluationErrors ?? []).map((e) => e.celError))
  const gotEval = JSON.stringify(got.evaluationErrors)
  if (wantEval !== gotEval) fails.set('evaluationErrors', `want ${wantEval} got ${gotEval}`)
  return fails
}

interface CaseResult {
  id: string
  tiersFailed: Map<Tier, string>
}

describe('Cerbos engine conformance', () => {
  let store: CompiledPolicySet
  let known: Map<string, string>
  const results: CaseResult[] = []
  const cases = new Map<string, EngineCase[]>()

  beforeAll(async () => {
    store = await loadPolicyDirectory(CERBOS_STORE_DIR)
    known = await loadKnownFailures(KNOWN_FAILURES_FILE)
    for (const run of RUNS) if (!cases.has(run.dir)) cases.set(run.dir, await loadEngineCases(run.dir))
    for (const run of RUNS) {
      const engine = new EmbeddedEngine(store, { globals: { ...CERBOS_TEST_GLOBALS }, ...run.options })
      for (const c of cases.get(run.dir) ?? []) {
        const id = `${run.mode}:${c.name}`
        let outputs: CheckOutput[]
        const tiersFailed = new Map<Tier, string>()
        try {
          outputs = engine.checkInputs(c.inputs as unknown as CheckInput[])
        } catch (err) {
          for (const t of TIERS) tiersFailed.set(t, `threw ${String(err)}`)
          results.push({ id, tiersFailed })
          continue
        }
        const wantTrail = c.wantDecisionLogs?.[0]?.auditTrail?.effectivePolicies
        if (wantTrail) {
          // The decision log of the whole call: every policy consulted, with its source file.
          const want = Object.entries(wantTrail).map(([k, v]) => `${k}=${v.attributes?.source ?? ''}`).sort()
          const got = [...new Set(outputs.flatMap((o) => Object.entries(o.effectivePolicies).map(([k, v]) => `${k}=${v}`)))].sort()
          if (JSON.stringify(want) !== JSON.stringify(got)) tiersFailed.set('auditTrail', `want ${JSON.stringify(want)} got ${JSON.stringify(got)}`)
        }
        c.wantOutputs.forEach((want, i) => {
          const got = outputs[i]
          if (!got) {
            tiersFailed.set('effects', `missing output ${i}`)
            return
          }
          for (const [tier, diff] of compare(want, got)) if (!tiersFailed.has(tier)) tiersFailed.set(tier, `input ${i}: ${diff}`)
        })
        results.push({ id, tiersFailed })
      }
    }
  })

  afterAll(() => {
    const lines = TIERS.map((tier) => `${tier.padEnd(18)} ${results.filter((r) => !r.tiersFailed.has(tier)).length}/${results.length}`)
    const all = results.filter((r) => r.tiersFailed.size === 0).length
    console.log(`Cerbos engine conformance (case files x modes):\n  ${lines.join('\n  ')}\n  ${'all tiers'.padEnd(18)} ${all}/${results.length}`)
  })

  it('loads the whole store (59 active policies)', () => {
    const kinds = store.policies.reduce<Record<string, number>>((acc, p) => ({ ...acc, [p.kind]: (acc[p.kind] ?? 0) + 1 }), {})
    expect(kinds).toEqual({ resource: 31, principal: 11, role: 8 })
  })

  it('runs every case file in every mode', () => {
    const expected = RUNS.reduce((n, r) => n + (cases.get(r.dir)?.length ?? 0), 0)
    expect(results).toHaveLength(expected)
    expect(results.length).toBeGreaterThanOrEqual(39 * 2 + 2 + 2 + 3 + 3)
  })

  it('fails exactly the cases listed in known-failures-engine.md', () => {
    const failing = results.filter((r) => r.tiersFailed.size > 0)
    const unexpected = failing.filter((r) => !known.has(r.id)).map((r) => `${r.id}: ${[...r.tiersFailed].map(([t, d]) => `[${t}] ${d}`).join(' ; ')}`)
    const fixed = [...known.keys()].filter((id) => !id.startsWith('compile:') && !failing.some((r) => r.id === id))
    expect(unexpected, 'cases failing but not listed').toEqual([])
    expect(fixed, 'cases listed as failing that now pass (remove them from the list)').toEqual([])
  })
})
