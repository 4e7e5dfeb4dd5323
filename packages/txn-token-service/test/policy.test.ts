import { describe, expect, it } from 'vitest'
import { runPolicyTests } from '@meshguard/core/testing'
import { POLICY_DIR } from './support/tts.js'

describe('the shipped issuance policy', () => {
  it('passes its own test suite', async () => {
    const results = await runPolicyTests(POLICY_DIR)
    expect(results.summary).toMatchObject({ overallResult: 'RESULT_PASSED' })
    expect(results.summary.testsCount).toBeGreaterThanOrEqual(14)
  })
})
