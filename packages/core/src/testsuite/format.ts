/**
 * Renders test results for a terminal: a table with one row per test case (counts per result), then
 * one line per check that did not pass, saying what was expected and what happened.
 */
import type { TestDetails, TestResult, TestResults } from './results.js'

const SHORT: Record<TestResult, string> = {
  RESULT_PASSED: 'passed',
  RESULT_FAILED: 'failed',
  RESULT_ERRORED: 'errored',
  RESULT_SKIPPED: 'skipped',
}

function table(rows: readonly (readonly string[])[]): string {
  const widths = rows[0]?.map((_, col) => Math.max(...rows.map((row) => (row[col] ?? '').length))) ?? []
  return rows.map((row) => row.map((cell, col) => cell.padEnd(widths[col] ?? 0)).join('  ').trimEnd()).join('\n')
}

function describeProblem(details: TestDetails): string {
  if (details.error !== undefined) return `error: ${details.error}`
  const failure = details.failure
  if (failure === undefined) return SHORT[details.result]
  const parts: string[] = []
  if (failure.expected !== failure.actual) parts.push(`expected ${failure.expected}, got ${failure.actual}`)
  for (const o of failure.outputs ?? []) {
    if (o.missing) parts.push(`output ${o.src} missing (expected ${JSON.stringify(o.missing.expected)})`)
    if (o.mismatched) parts.push(`output ${o.src}: expected ${JSON.stringify(o.mismatched.expected)}, got ${JSON.stringify(o.mismatched.actual)}`)
    if (o.errored) parts.push(`output ${o.src} failed: ${o.errored.error}`)
  }
  return parts.join('; ')
}

/** Formats results as a plain-text table plus the failures, ending with an overall line. */
export function formatTestResults(results: TestResults): string {
  const rows: string[][] = [['FILE', 'SUITE', 'TEST', 'PASSED', 'FAILED', 'ERRORED', 'SKIPPED']]
  const problems: string[] = []
  for (const suite of results.suites) {
    if (suite.error !== undefined || suite.testCases === undefined) {
      rows.push([suite.file, suite.name, '-', '', '', suite.error !== undefined ? 'suite' : '', suite.error === undefined ? 'suite' : ''])
      if (suite.error !== undefined) problems.push(`${suite.file}: ${suite.error.replace(/\n/g, '\n    ')}`)
      continue
    }
    for (const testCase of suite.testCases) {
      const counts: Record<TestResult, number> = { RESULT_PASSED: 0, RESULT_FAILED: 0, RESULT_ERRORED: 0, RESULT_SKIPPED: 0 }
      for (const principal of testCase.principals) {
        for (const resource of principal.resources) {
          for (const action of resource.actions) {
            counts[action.details.result]++
            if (action.details.result === 'RESULT_FAILED' || action.details.result === 'RESULT_ERRORED') {
              problems.push(
                `${suite.file} > ${testCase.name} > ${principal.name} > ${resource.name} > ${action.name}: ${describeProblem(action.details)}`,
              )
            }
          }
        }
      }
      rows.push([
        suite.file,
        suite.name,
        testCase.name,
        String(counts.RESULT_PASSED),
        String(counts.RESULT_FAILED),
        String(counts.RESULT_ERRORED),
        String(counts.RESULT_SKIPPED),
      ])
    }
  }
  const total = results.summary.testsCount ?? 0
  const overall = `${SHORT[results.summary.overallResult].toUpperCase()}: ${results.suites.length} suite(s), ${total} check(s)${
    results.summary.resultCounts ? ` (${results.summary.resultCounts.map((c) => `${c.count} ${SHORT[c.result]}`).join(', ')})` : ''
  }`
  const sections = [table(rows)]
  if (problems.length > 0) sections.push(`Problems:\n${problems.map((p) => `  ${p}`).join('\n')}`)
  sections.push(overall)
  return `${sections.join('\n\n')}\n`
}
