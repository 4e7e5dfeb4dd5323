import { fileURLToPath } from 'node:url'
import { afterAll, describe, expect, it } from 'vitest'
import { runPolicyTests } from '../../src/testsuite/index.js'
import { tempPolicyDirs } from '../support/policy-dirs.js'

const EXAMPLES = fileURLToPath(new URL('../../../../examples/policies', import.meta.url))

describe('runPolicyTests on the embedded engine (default)', () => {
  const dirs = tempPolicyDirs('meshguard-embedded-suite-')
  afterAll(() => dirs.removeAll())

  it('compiles the directory and runs its suites', async () => {
    const results = await runPolicyTests(EXAMPLES)
    expect(results.suites.length).toBeGreaterThan(0)
    expect(results.summary.overallResult).toBe('RESULT_PASSED')
    expect(results.summary.testsCount).toBeGreaterThan(0)
  })

  it('finds a wrong expectation and a condition that depends on the time', async () => {
    const dir = await dirs.create({
      'doc.yaml': `apiVersion: api.cerbos.dev/v1
resourcePolicy:
  version: default
  resource: doc
  rules:
    - actions: [read]
      effect: EFFECT_ALLOW
      roles: [user]
    - actions: [archive]
      effect: EFFECT_ALLOW
      roles: [user]
      condition:
        match:
          expr: timestamp(R.attr.created).timeSince() > duration("24h")
`,
      'doc_test.yaml': `name: Docs
principals: { ann: { id: ann, roles: [user] } }
resources: { d: { kind: doc, id: d, attr: { created: "2020-01-01T00:00:00Z" } } }
tests:
  - name: reads and writes
    input: { principals: [ann], resources: [d], actions: [read, write] }
    expected: [{ principal: ann, resource: d, actions: { read: EFFECT_ALLOW, write: EFFECT_ALLOW } }]
  - name: archive with now
    options: { now: "2020-01-03T00:00:00Z" }
    input: { principals: [ann], resources: [d], actions: [archive] }
    expected: [{ principal: ann, resource: d, actions: { archive: EFFECT_ALLOW } }]
  - name: archive without now
    input: { principals: [ann], resources: [d], actions: [archive] }
    expected: [{ principal: ann, resource: d, actions: { archive: EFFECT_ALLOW } }]
`,
    })
    const results = await runPolicyTests(dir)
    const [rw, withNow, withoutNow] = results.suites[0]?.testCases ?? []
    expect(rw?.principals[0]?.resources[0]?.actions.map((a) => a.details.result)).toEqual(['RESULT_PASSED', 'RESULT_FAILED'])
    expect(withNow?.principals[0]?.resources[0]?.actions[0]?.details.result).toBe('RESULT_PASSED')
    expect(withoutNow?.principals[0]?.resources[0]?.actions[0]?.details).toEqual({
      result: 'RESULT_ERRORED',
      error: 'a policy used a time-based condition, but `now` was not provided in the test options',
    })
  })

  it('throws the PolicyError of a directory that does not compile', async () => {
    const dir = await dirs.create({ 'bad.yaml': 'apiVersion: api.cerbos.dev/v1\nresourcePolicy: { version: default }\n' })
    await expect(runPolicyTests(dir)).rejects.toMatchObject({ code: 'ERR_AUTHZ_POLICY_INVALID' })
  })
})
