/**
 * The sample system's policies (examples/policies) are checked by the real Cerbos PDP binary:
 * it compiles them and runs their test suites, so every intended decision in the demo is proven
 * by the reference implementation, and by meshguard's own engine and test-suite runner.
 */
import { execFile } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { describe, expect, it } from 'vitest'
import { runPolicyTests } from '@meshguard/core/testing'

const run = promisify(execFile)
const root = fileURLToPath(new URL('../../', import.meta.url))
const cerbos = `${root}node_modules/@cerbos/cerbos-linux-x64/cerbos-linux-x64`
const policies = `${root}examples/policies`

interface SuiteSummary {
  file: string
  summary: { overallResult: string; testsCount: number }
}

describe('examples/policies under the Cerbos PDP', () => {
  it('compiles and every policy test suite passes', async () => {
    const { stdout } = await run(cerbos, ['compile', '-o', 'json', policies])
    const report = JSON.parse(stdout) as { suites: SuiteSummary[] }
    const byFile = new Map(report.suites.map((s) => [s.file, s.summary]))
    for (const file of ['review_test.yaml', 'hr_report_test.yaml', 'payment_test.yaml', 'edge_test.yaml']) {
      const summary = byFile.get(`tests/${file}`)
      expect(summary, file).toBeDefined()
      expect(summary?.overallResult, file).toBe('RESULT_PASSED')
      expect(summary?.testsCount, file).toBeGreaterThan(0)
    }
  })
})

describe('examples/policies under the embedded engine', () => {
  it('passes the same test suites', async () => {
    const results = await runPolicyTests(policies)
    const byFile = new Map(results.suites.map((s) => [s.file, s.summary]))
    for (const file of ['review_test.yaml', 'hr_report_test.yaml', 'payment_test.yaml', 'edge_test.yaml']) {
      const summary = byFile.get(`tests/${file}`)
      expect(summary?.overallResult, file).toBe('RESULT_PASSED')
      expect(summary?.testsCount, file).toBeGreaterThan(0)
    }
  })
})
