/**
 * The sample system's policies (examples/policies) are checked by the real Cerbos PDP binary:
 * it compiles them and runs their test suites, so every intended decision in the demo is proven
 * by the reference implementation, and by meshguard's own engine and test-suite runner.
 */
import { execFile } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { describe, expect, it } from 'vitest'
import { EmbeddedEngine } from '@meshguard/core'
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

describe('examples/tts-policies/workload_identity.yaml (the WIT issuance policy of the sample system)', () => {
  const issue = async (id: string, attestationType: string): Promise<string | undefined> => {
    const engine = await EmbeddedEngine.fromDirectory(`${root}examples/tts-policies`)
    const response = await engine.checkResources({
      principal: { id, roles: [attestationType], attr: { attestation: { type: attestationType } } },
      resources: [{ resource: { kind: 'workload_identity', id, attr: { trustDomain: 'meshguard.example', requestedRoles: [] } }, actions: ['issue', 'role:admin'] }],
    })
    const actions = response.results[0]?.actions ?? {}
    // The sample issuer asserts no role: the policy grants none, whoever asks.
    expect(actions['role:admin']).toBe('EFFECT_DENY')
    return actions['issue']
  }

  it('issues WITs to the registered sample workloads only', async () => {
    expect(await issue('spiffe://meshguard.example/ns/hr/sa/employee-service', 'private_key_jwt')).toBe('EFFECT_ALLOW')
    expect(await issue('spiffe://meshguard.example/ns/hr/sa/employee-service', 'kubernetes_sa_token')).toBe('EFFECT_DENY')
    expect(await issue('spiffe://partner.example/ns/hr/sa/employee-service', 'private_key_jwt')).toBe('EFFECT_DENY')
  })
})
