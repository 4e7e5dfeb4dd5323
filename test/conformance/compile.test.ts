/**
 * Cerbos compiler conformance: each case of cases/compile is compiled with compilePolicies. Cases
 * with `wantErrors` must fail with those errors (file, line/column when given, and the message;
 * messages quoting CEL or JSON-Schema library text are compared up to that text). Cases without
 * must compile. Failing cases must be listed in known-failures-engine.md (as `compile:<name>`).
 */
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { compilePolicies, PolicyError, type PolicyIssue } from '@meshguard/core'
import { loadCaseSchemas, loadCompileCases, loadKnownFailures, type CompileCase, type WantCompileError } from './support/cerbos-cases.js'

const KNOWN_FAILURES_FILE = fileURLToPath(new URL('./known-failures-engine.md', import.meta.url))

/** The part of a description we can reproduce: library-specific detail after these prefixes is dropped. */
function comparableDescription(want: WantCompileError): string {
  const d = want.description.trim()
  if (want.error.trim() === 'invalid expression') return d.slice(0, d.indexOf('`:') + 2)
  if (want.error.trim() === 'invalid schema') {
    const cut = d.indexOf('": ')
    return d.slice(0, cut + 3)
  }
  return d
}

function matches(want: WantCompileError, issue: PolicyIssue): boolean {
  if (issue.file !== want.file) return false
  if (want.position && (issue.line !== want.position.line || issue.column !== want.position.column)) return false
  const desc = comparableDescription(want)
  return issue.message === want.description.trim() || issue.message.startsWith(desc) || issue.message.endsWith(desc)
}

interface Outcome {
  id: string
  problem?: string
}

function runCase(c: CompileCase, schemas: Array<{ path: string; text: string }>): Outcome {
  const id = `compile:${c.name}`
  const sources = [...c.files].filter(([file]) => /\.(ya?ml|json)$/.test(file) && !file.startsWith('_schemas/')).map(([file, text]) => ({ file, text }))
  let issues: readonly PolicyIssue[] = []
  try {
    compilePolicies(sources, { schemas })
  } catch (err) {
    if (!(err instanceof PolicyError)) return { id, problem: `threw ${String(err)}` }
    issues = err.issues
  }
  if (c.wantErrors.length === 0) {
    return issues.length === 0 ? { id } : { id, problem: `unexpected issues: ${JSON.stringify(issues)}` }
  }

  const missing = c.wantErrors.filter((w) => !issues.some((i) => matches(w, i)))
  // Cerbos compiles the main policy as one unit (with its imports and ancestors); problems in other
  // files of the archive are outside that unit, so only the files it reports on are compared.
  const reported = new Set([c.mainDef, ...c.wantErrors.map((w) => w.file)])
  const extra = issues.filter((i) => reported.has(i.file) && !c.wantErrors.some((w) => matches(w, i)))
  if (missing.length === 0 && extra.length === 0) return { id }
  return { id, problem: `missing ${JSON.stringify(missing)} extra ${JSON.stringify(extra)}` }
}

describe('Cerbos compile conformance', () => {
  const outcomes: Outcome[] = []
  let known: Map<string, string>

  beforeAll(async () => {
    known = await loadKnownFailures(KNOWN_FAILURES_FILE)
    const schemas = await loadCaseSchemas()
    for (const c of await loadCompileCases()) outcomes.push(runCase(c, schemas))
  })

  afterAll(() => {
    console.log(`Cerbos compile conformance: ${outcomes.filter((o) => !o.problem).length}/${outcomes.length} cases pass`)
  })

  it('runs all 30 compile cases', () => {
    expect(outcomes).toHaveLength(30)
  })

  it('fails exactly the compile cases listed in known-failures-engine.md', () => {
    const failing = outcomes.filter((o) => o.problem !== undefined)
    const unexpected = failing.filter((o) => !known.has(o.id)).map((o) => `${o.id}: ${o.problem}`)
    const fixed = [...known.keys()].filter((id) => id.startsWith('compile:') && !failing.some((o) => o.id === id))
    expect(unexpected, 'compile cases failing but not listed').toEqual([])
    expect(fixed, 'listed compile cases that now pass').toEqual([])
  })
})
