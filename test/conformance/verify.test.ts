/**
 * Conformance: the Cerbos `verify` cases (policy test suites, conformance/cerbos/cases/verify,
 * Apache-2.0, copied from the Cerbos repository; see the LICENSE and README there) run through
 * `runPolicyTests` on the embedded engine over the conformance store. Each case's `TestResults` must
 * equal the golden one, except the cases listed in known-failures-verify.md, which must still differ
 * (so a fixed case forces its entry out of the list).
 *
 * Compared: suites, names, descriptions, summaries, every check's result, effects, outputs and skip
 * reasons. Error messages are compared by presence only: their wording is Cerbos's Go/protobuf wording.
 */
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { loadPolicyDirectory } from '@meshguard/core'
import { embeddedTestEngines, runPolicyTests, type TestEngineFactory, type PolicyTestFilter, type TestResults } from '@meshguard/core/testing'
// Core's own yaml (the root has no yaml dependency), loaded through core's package below.
import type * as YamlModule from '../../packages/core/node_modules/yaml/dist/index.js'
import { CERBOS_CASES_DIR, CERBOS_STORE_DIR, parseTxtar } from './support/cerbos-cases.js'

// yaml is a dependency of core, not of the workspace root.
const { parse } = createRequire(new URL('../../packages/core/package.json', import.meta.url))('yaml') as typeof YamlModule

const VERIFY_DIR = join(CERBOS_CASES_DIR, 'verify')

/** One verify case. */
interface VerifyCase {
  name: string
  description: string
  filter: PolicyTestFilter
  /** File path → contents, from the txtar archive. */
  files: Map<string, string>
  golden: TestResults
}

/** Reads every `case_NNN.yaml` (with its `.input` and `.golden`). */
async function loadVerifyCases(): Promise<VerifyCase[]> {
  const names = (await readdir(VERIFY_DIR)).filter((f) => /^case_\d+\.yaml$/.test(f)).sort()
  return await Promise.all(
    names.map(async (file) => {
      const spec = parse(await readFile(join(VERIFY_DIR, file), 'utf8')) as { description?: string; config?: PolicyTestFilter }
      return {
        name: file.replace(/\.yaml$/, ''),
        description: spec.description ?? '',
        filter: spec.config ?? {},
        files: parseTxtar(await readFile(join(VERIFY_DIR, `${file}.input`), 'utf8')),
        golden: JSON.parse(await readFile(join(VERIFY_DIR, `${file}.golden`), 'utf8')) as TestResults,
      }
    }),
  )
}

/** Writes a case's files into a fresh temp directory and returns it. */
async function materialize(verifyCase: VerifyCase): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), `meshguard-verify-${verifyCase.name}-`))
  for (const [path, text] of verifyCase.files) {
    await mkdir(dirname(join(dir, path)), { recursive: true })
    await writeFile(join(dir, path), text)
  }
  return dir
}

/**
 * Makes results comparable: error messages become `true` (their wording is Cerbos's Go/protobuf
 * wording, we only require that the same suite or check errors), outputs are sorted by `src`, and
 * numbers are left as JSON numbers.
 */
function normalizeResults(results: TestResults): unknown {
  return JSON.parse(
    JSON.stringify(results, (key, value: unknown) => {
      if (key === 'error' && typeof value === 'string') return true
      if (key === 'outputs' && Array.isArray(value)) {
        return [...(value as { src: string }[])].sort((a, b) => (a.src < b.src ? -1 : a.src > b.src ? 1 : 0))
      }
      return value
    }),
  )
}

/** Lists the differences between two JSON values as `path: expected X, got Y` lines (for readable failures). */
function diffJson(expected: unknown, actual: unknown, path = '$', out: string[] = []): string[] {
  if (out.length > 20) return out
  if (typeof expected !== 'object' || expected === null || typeof actual !== 'object' || actual === null) {
    if (JSON.stringify(expected) !== JSON.stringify(actual)) out.push(`${path}: expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`)
    return out
  }
  if (Array.isArray(expected) !== Array.isArray(actual)) {
    out.push(`${path}: expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`)
    return out
  }
  const e = expected as Record<string, unknown>
  const a = actual as Record<string, unknown>
  for (const key of new Set([...Object.keys(e), ...Object.keys(a)])) diffJson(e[key], a[key], `${path}.${key}`, out)
  return out
}

/** Reads the case names listed in a known-failures markdown file (`- case_036: reason`). */
async function readKnownFailures(file: string): Promise<Map<string, string>> {
  const known = new Map<string, string>()
  for (const line of (await readFile(file, 'utf8')).split('\n')) {
    const m = /^- `?(case_\d+)`?\s*[:—-]\s*(.+)$/.exec(line.trim())
    if (m?.[1] !== undefined && m[2] !== undefined) known.set(m[1], m[2])
  }
  return known
}

const KNOWN_FAILURES = fileURLToPath(new URL('./known-failures-verify.md', import.meta.url))
const cases = await loadVerifyCases()
const known = await readKnownFailures(KNOWN_FAILURES)

describe('Cerbos verify conformance (policy test-suite runner)', () => {
  let engine: TestEngineFactory
  const dirs: string[] = []
  beforeAll(async () => {
    engine = embeddedTestEngines(await loadPolicyDirectory(CERBOS_STORE_DIR))
  })
  afterAll(async () => {
    await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })))
  })

  it('has 45 cases and a known-failures list naming only real cases', () => {
    expect(cases.length).toBe(45)
    for (const name of known.keys()) expect(cases.map((c) => c.name)).toContain(name)
  })

  it.each(cases.map((c) => [c.name, c] as const))('%s', async (name, verifyCase) => {
    const dir = await materialize(verifyCase)
    dirs.push(dir)
    const results = await runPolicyTests(dir, { engine, filter: verifyCase.filter })
    const differences = diffJson(normalizeResults(verifyCase.golden), normalizeResults(results))
    if (known.has(name)) {
      // Listed as a known failure: it must still fail, otherwise the list is stale.
      expect(differences, `${name} now passes: remove it from known-failures-verify.md`).not.toEqual([])
    } else {
      expect(differences, `${name}: ${verifyCase.description}`).toEqual([])
    }
  })

  it('reports the pass count', () => {
    const passing = cases.length - known.size
    console.log(`verify conformance: ${passing}/${cases.length} cases pass; known failures: ${[...known.keys()].join(', ') || 'none'}`)
    expect(passing).toBeGreaterThan(0)
  })
})
