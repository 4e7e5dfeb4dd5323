/**
 * Runs the relevant google/cel-spec `simple` conformance files against the CEL layer (the same
 * environment as policy conditions, with any identifier accepted as a variable so the files'
 * bindings resolve). Tests that need protobuf features (message types, containers, unknown sets)
 * are counted as not applicable. Each file asserts that exactly the failures listed in
 * known-failures-cel.md (section "cel-spec") fail; the summary prints pass counts per file.
 *
 * Files left out entirely, and why:
 * - proto2, proto3, proto2_ext, wrappers, enums: protobuf messages, enums and wrapper types.
 *   Cerbos attributes are JSON (`google.protobuf.Value`), so conditions never see them.
 * - dynamic: conversions of protobuf well-known types (`google.protobuf.Struct{...}`, `Any`).
 * - unknowns: partial evaluation (the PlanResources planner), not CheckResources.
 * - block_ext: `cel.block` is an internal optimiser form; Cerbos does not enable it.
 * - type_deduction: asserts checker-deduced types only (no evaluation).
 * - namespace: qualified names resolved through a container; Cerbos sets no container.
 */
import { fileURLToPath } from 'node:url'
import { afterAll, describe, expect, it } from 'vitest'
import { createCelEnvironment } from '../../packages/core/src/cel/environment.js'
import { prepareAst } from '../../packages/core/src/cel/program.js'
import { canonical, readSpecFile, type SpecCase } from '../../packages/core/test/cel/cel-spec-support.js'
import { readKnownFailures } from '../../packages/core/test/cel/conformance-support.js'

const FILES = [
  'basic',
  'bindings_ext',
  'comparisons',
  'conversions',
  'encoders_ext',
  'fields',
  'fp_math',
  'integer_math',
  'lists',
  'logic',
  'macros',
  'macros2',
  'math_ext',
  'network_ext',
  'optionals',
  'parse',
  'plumbing',
  'string',
  'string_ext',
  'timestamps',
]

const KNOWN = readKnownFailures(fileURLToPath(new URL('./known-failures-cel.md', import.meta.url)), 'cel-spec')
let env: ReturnType<typeof createCelEnvironment> | undefined

/** Runs one case; returns an explanation when it fails. */
function failure(c: Extract<SpecCase, { run: true }>): string | undefined {
  env ??= createCelEnvironment({ anyVariable: true })
  let result: unknown
  try {
    const program = env.parse(c.expr)
    prepareAst(program.ast)
    const checked = program.check()
    if (!checked.valid) throw checked.error ?? new Error('type check failed without an error')
    result = program(c.bindings)
  } catch (err) {
    return c.expect.kind === 'error' ? undefined : `error: ${(err instanceof Error ? err.message : String(err)).split('\n')[0]}`
  }
  if (c.expect.kind === 'error') return `expected an error, got ${JSON.stringify(canonical(result))}`
  const got = JSON.stringify(canonical(result))
  const want = JSON.stringify(canonical(c.expect.value))
  return got === want ? undefined : `got ${got}, want ${want}`
}

const summary: string[] = []
const totals = { passed: 0, run: 0, notApplicable: 0 }

describe('cel-spec conformance', () => {
  afterAll(() => {
    const total = `total: ${totals.passed}/${totals.run} (${totals.notApplicable} n/a)`
    console.log(['cel-spec (passed/run, not applicable):', ...summary, total].join('\n  '))
  })

  for (const file of FILES) {
    it(`${file}: exactly the known failures fail`, () => {
      const cases = readSpecFile(file)
      const runnable = cases.filter((c): c is Extract<SpecCase, { run: true }> => c.run)
      const failed = new Map<string, string>()
      for (const c of runnable) {
        const why = failure(c)
        if (why !== undefined) failed.set(c.id, `${c.expr} → ${why}`)
      }
      summary.push(`${file}: ${runnable.length - failed.size}/${runnable.length} (${cases.length - runnable.length} n/a)`)
      totals.passed += runnable.length - failed.size
      totals.run += runnable.length
      totals.notApplicable += cases.length - runnable.length
      const knownHere = [...KNOWN.keys()].filter((id) => id.startsWith(`${file}/`)).sort()
      const unexpected = [...failed].filter(([id]) => !KNOWN.has(id)).map(([id, why]) => `${id}: ${why}`)
      const fixed = knownHere.filter((id) => !failed.has(id))
      expect({ unexpected, fixed }).toEqual({ unexpected: [], fixed: [] })
    })
  }
})
