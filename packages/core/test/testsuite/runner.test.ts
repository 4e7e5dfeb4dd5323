import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import type { CheckResourcesRequest, CheckResourcesResponse } from '../../src/types.js'
import { findTestSuites, formatTestResults, runPolicyTests, type TestEngineFactory, type TestEngineOptions } from '../../src/testsuite/index.js'

const dirs: string[] = []
afterEach(async () => {
  await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })))
})

async function tree(files: Record<string, string>): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'meshguard-testsuite-'))
  dirs.push(dir)
  for (const [path, text] of Object.entries(files)) {
    await mkdir(dirname(join(dir, path)), { recursive: true })
    await writeFile(join(dir, path), text)
  }
  return dir
}

/**
 * A fake engine with fixed rules: admins may do anything, everyone may `read`; `out` emits an output
 * with the principal id, `err` an output that failed, `late` reads the clock (allowed after 2030).
 */
function fakeEngine(seen: TestEngineOptions[] = [], requests: CheckResourcesRequest[] = []): TestEngineFactory {
  return (options) => {
    seen.push(options)
    return {
      checkResources(request: CheckResourcesRequest): CheckResourcesResponse {
        requests.push(request)
        return {
          requestId: '',
          results: request.resources.map(({ resource, actions }) => {
            const outputs: { src: string; val: unknown; error?: string }[] = []
            const effects = Object.fromEntries(
              actions.map((action) => {
                let allow = request.principal.roles.includes('admin') || action === 'read'
                if (action === 'out') outputs.push({ src: 'resource.doc.vdefault#out', val: { who: request.principal.id, n: 1 } })
                if (action === 'err') outputs.push({ src: 'resource.doc.vdefault#err', val: null, error: 'division by zero' })
                if (action === 'late') allow = options.now().getUTCFullYear() >= 2030
                // Takes the time without using it, like an engine that fixes now() once per call.
                if (action === 'eager') allow = options.now() instanceof Date
                if (action === 'global') allow = options.globals['env'] === 'test'
                return [action, allow ? 'EFFECT_ALLOW' : 'EFFECT_DENY'] as const
              }),
            )
            return {
              resource: { id: resource.id, kind: resource.kind, policyVersion: resource.policyVersion ?? '', scope: resource.scope ?? '' },
              actions: effects,
              validationErrors: [],
              outputs,
            }
          }),
        }
      },
    }
  }
}

const FIXTURES = {
  'testdata/principals.yaml': `
principals:
  alice: { id: alice, roles: [admin] }
  bob: &bob { id: bob, roles: [user], attr: { team: a } }
  carol:
    <<: *bob
    id: carol
principalGroups:
  users: { principals: [bob, carol] }
`,
  'testdata/resources.yaml': `
resources:
  doc: { kind: doc, id: d1 }
  doc2: { kind: doc, id: d2, policyVersion: v2 }
resourceGroups:
  docs: { resources: [doc, doc2] }
`,
  'testdata/auxdata.yaml': `
auxData:
  token:
    jwts:
      a: { claims: { iss: x } }
      b: { claims: { aud: y } }
`,
}

describe('runPolicyTests', () => {
  it('passes and fails checks by effect, with DENY expected for anything not listed', async () => {
    const dir = await tree({
      ...FIXTURES,
      'doc_test.yaml': `
name: Docs
description: doc tests
tests:
  - name: admins and users
    input: { principals: [alice, bob], resources: [doc], actions: [read, write] }
    expected:
      - principal: alice
        resource: doc
        actions: { read: EFFECT_ALLOW, write: EFFECT_ALLOW }
      - principal: bob
        resource: doc
        actions: { read: EFFECT_ALLOW, write: EFFECT_ALLOW }
`,
    })
    const results = await runPolicyTests(dir, { engine: fakeEngine() })
    const suite = results.suites[0]
    expect(suite?.name).toBe('Docs')
    expect(suite?.description).toBe('doc tests')
    expect(suite?.summary).toEqual({
      overallResult: 'RESULT_FAILED',
      testsCount: 4,
      resultCounts: [
        { result: 'RESULT_PASSED', count: 3 },
        { result: 'RESULT_FAILED', count: 1 },
      ],
    })
    const bob = suite?.testCases?.[0]?.principals[1]
    expect(bob?.name).toBe('bob')
    expect(bob?.resources[0]?.actions[1]).toEqual({
      name: 'write',
      details: { result: 'RESULT_FAILED', failure: { expected: 'EFFECT_ALLOW', actual: 'EFFECT_DENY' } },
    })
    expect(results.summary.overallResult).toBe('RESULT_FAILED')
    expect(formatTestResults(results)).toMatch(/bob > doc > write: expected EFFECT_ALLOW, got EFFECT_DENY/)
  })

  it('expands groups, passes jwts and compares outputs (missing, mismatched, errored)', async () => {
    const requests: CheckResourcesRequest[] = []
    const dir = await tree({
      ...FIXTURES,
      'out_test.yaml': `
name: Outputs
tests:
  - name: outputs
    input: { principalGroups: [users], resourceGroups: [docs], actions: [out, err, read], auxData: token }
    expected:
      - principals: [bob]
        resources: [doc]
        actions: { read: EFFECT_ALLOW }
        outputs:
          - action: out
            expected: [{ src: 'resource.doc.vdefault#out', val: { n: 1, who: bob } }]
      - principalGroups: [users]
        resource: doc2
        actions: { read: EFFECT_ALLOW }
        outputs:
          - action: out
            expected: [{ src: 'resource.doc.vdefault#out', val: { who: nobody, n: 1 } }]
          - action: err
            expected: [{ src: 'resource.doc.vdefault#err', val: 1 }, { src: 'resource.doc.vdefault#none', val: 2 }]
`,
    })
    const results = await runPolicyTests(dir, { engine: fakeEngine([], requests) })
    const testCase = results.suites[0]?.testCases?.[0]
    expect(testCase?.principals.map((p) => p.name)).toEqual(['bob', 'carol'])
    expect(testCase?.principals[0]?.resources.map((r) => r.name)).toEqual(['doc', 'doc2'])
    const bobDoc = testCase?.principals[0]?.resources[0]?.actions
    expect(bobDoc?.[0]?.details).toEqual({
      result: 'RESULT_PASSED',
      success: { effect: 'EFFECT_DENY', outputs: [{ src: 'resource.doc.vdefault#out', action: 'out', val: { who: 'bob', n: 1 } }] },
    })
    const carolDoc2 = testCase?.principals[1]?.resources[1]?.actions
    expect(carolDoc2?.[0]?.details.failure?.outputs).toEqual([
      { src: 'resource.doc.vdefault#out', mismatched: { expected: { who: 'nobody', n: 1 }, actual: { who: 'carol', n: 1 } } },
    ])
    expect(carolDoc2?.[1]?.details.failure?.outputs).toEqual([
      { src: 'resource.doc.vdefault#err', errored: { expected: 1, error: 'division by zero' } },
      { src: 'resource.doc.vdefault#none', missing: { expected: 2 } },
    ])
    expect(requests[0]?.auxData).toEqual({ jwts: { a: { claims: { iss: 'x' } }, b: { claims: { aud: 'y' } } } })
    // One request per action, so every output is attributed to its action.
    expect(requests.every((r) => r.resources.length === 1 && r.resources[0]?.actions.length === 1)).toBe(true)
  })

  it('hands suite options to the engine factory and reuses engines per option set', async () => {
    const seen: TestEngineOptions[] = []
    const dir = await tree({
      ...FIXTURES,
      'opt_test.yaml': `
name: Options
options: { now: "2031-01-01T00:00:00Z", globals: { env: test }, lenientScopeSearch: true }
tests:
  - name: late with suite now
    input: { principals: [bob], resources: [doc], actions: [late, global] }
    expected: [{ principal: bob, resource: doc, actions: { late: EFFECT_ALLOW, global: EFFECT_ALLOW } }]
  - name: test options replace suite options
    options: { now: "2021-01-01T00:00:00Z", defaultPolicyVersion: v9, defaultScope: acme }
    input: { principals: [bob], resources: [doc, doc2], actions: [late, global] }
    expected: []
`,
    })
    const requests: CheckResourcesRequest[] = []
    const results = await runPolicyTests(dir, { engine: fakeEngine(seen, requests) })
    expect(results.summary).toEqual({ overallResult: 'RESULT_PASSED', testsCount: 6, resultCounts: [{ result: 'RESULT_PASSED', count: 6 }] })
    expect(seen.map((o) => [o.lenientScopeSearch, o.strictEvaluation, o.globals])).toEqual([
      [true, false, { env: 'test' }],
      [false, false, {}],
    ])
    const second = requests.slice(2)
    expect(second[0]?.principal).toMatchObject({ policyVersion: 'v9', scope: 'acme' })
    expect(second.map((r) => r.resources[0]?.resource.policyVersion)).toEqual(['v9', 'v9', 'v2', 'v2'])
  })

  it('errors a check that reads the clock when the test sets no now', async () => {
    const dir = await tree({
      ...FIXTURES,
      'now_test.yaml': `
name: Now
tests:
  - name: no now
    input: { principals: [bob], resources: [doc], actions: [late, read, eager] }
    expected: [{ principal: bob, resource: doc, actions: { read: EFFECT_ALLOW, eager: EFFECT_ALLOW } }]
`,
    })
    const results = await runPolicyTests(dir, { engine: fakeEngine() })
    const actions = results.suites[0]?.testCases?.[0]?.principals[0]?.resources[0]?.actions
    expect(actions?.[0]?.details).toEqual({
      result: 'RESULT_ERRORED',
      error: 'a policy used a time-based condition, but `now` was not provided in the test options',
    })
    expect(actions?.[1]?.details.result).toBe('RESULT_PASSED')
    expect(actions?.[2]?.details.result).toBe('RESULT_PASSED')
    expect(results.summary.overallResult).toBe('RESULT_ERRORED')
  })

  it('skips suites, tests, excluded policies and tests outside the name filter', async () => {
    const dir = await tree({
      ...FIXTURES,
      'a_test.yaml': `
name: Skipped suite
skip: true
skipReason: later
tests: [{ name: t, input: { principals: [bob], resources: [doc], actions: [read] }, expected: [] }]
`,
      'b_test.yaml': `
name: Filters
tests:
  - name: keep me
    input: { principals: [bob, alice], resources: [doc, doc2], actions: [read] }
    expected: [{ principals: [bob, alice], resources: [doc, doc2], actions: { read: EFFECT_ALLOW } }]
  - name: skipped test
    skip: true
    skipReason: flaky
    input: { principals: [bob], resources: [doc], actions: [read] }
    expected: []
  - name: not matched
    input: { principals: [bob], resources: [doc], actions: [read] }
    expected: []
`,
    })
    const results = await runPolicyTests(dir, {
      engine: fakeEngine(),
      filter: {
        excludedResourcePolicyFqns: ['cerbos.resource.doc.vv2'],
        excludedPrincipalPolicyFqns: ['cerbos.principal.alice.vdefault'],
        includedTestNamesRegexp: '^(keep|skipped)',
      },
    })
    expect(results.suites[0]).toEqual({ file: 'a_test.yaml', name: 'Skipped suite', summary: { overallResult: 'RESULT_SKIPPED' }, skipReason: 'later' })
    const [keep, skipped, notMatched] = results.suites[1]?.testCases ?? []
    const bob = keep?.principals[0]?.resources.map((r) => r.actions[0]?.details)
    expect(bob).toEqual([
      { result: 'RESULT_PASSED', success: { effect: 'EFFECT_ALLOW' } },
      { result: 'RESULT_SKIPPED', skipReason: 'Resource matched a policy that was excluded from the bundle' },
    ])
    expect(keep?.principals[1]?.resources[0]?.actions[0]?.details.skipReason).toBe('Principal matched a policy that was excluded from the bundle')
    expect(skipped?.principals[0]?.resources[0]?.actions[0]?.details).toEqual({ result: 'RESULT_SKIPPED', skipReason: 'flaky' })
    expect(notMatched?.principals[0]?.resources[0]?.actions[0]?.details.skipReason).toBe('Test name did not match the provided pattern')
    expect(results.summary).toEqual({
      overallResult: 'RESULT_PASSED',
      testsCount: 6,
      resultCounts: [
        { result: 'RESULT_SKIPPED', count: 5 },
        { result: 'RESULT_PASSED', count: 1 },
      ],
    })
  })

  it('reports malformed suites with line and column, and bad references by test name', async () => {
    const dir = await tree({
      ...FIXTURES,
      'a_test.yaml': 'x\n',
      'b_test.yaml': `name: Bad
tests:
  - name: t
    input: { principals: [bob], resources: [doc], actions: [read] }
    expected:
      - resource: doc
        actions: { read: EFFECT_MAYBE }
`,
      'c_test.yaml': `name: Missing
tests:
  - name: uses ghost
    input: { principals: [ghost], resources: [doc], actions: [read] }
    expected: []
`,
      'd_test.yaml': `name: Dupes
tests:
  - { name: same, input: { principals: [bob], resources: [doc], actions: [read] }, expected: [] }
  - { name: same, input: { principals: [bob], resources: [doc], actions: [read] }, expected: [] }
`,
      'e_test.yaml': `name: Unlisted action
tests:
  - name: t
    input: { principals: [bob], resources: [doc], actions: [read] }
    expected: [{ principal: bob, resource: doc, actions: { write: EFFECT_ALLOW } }]
`,
      'f_test.yaml': `name: NoTests\nwhat: 1\n`,
      'g_test.yaml': `name: Bad now\noptions: { now: blah }\ntests: [{ name: t, input: { principals: [bob], resources: [doc], actions: [read] }, expected: [] }]\n`,
    })
    const results = await runPolicyTests(dir, { engine: fakeEngine() })
    const byFile = Object.fromEntries(results.suites.map((s) => [s.file, s]))
    expect(byFile['a_test.yaml']).toMatchObject({ name: 'Unknown', summary: { overallResult: 'RESULT_ERRORED' } })
    expect(byFile['a_test.yaml']?.error).toMatch(/^failed to load test suite:\n1:1 invalid document/)
    expect(byFile['b_test.yaml']?.error).toContain('6:9 tests[0].expected[0]: principal, principals, or principalGroups must be present')
    expect(byFile['b_test.yaml']?.error).toContain('7:26 tests[0].expected[0].actions["read"]: must be one of [EFFECT_ALLOW, EFFECT_DENY]')
    expect(byFile['c_test.yaml']).toMatchObject({
      name: 'Missing',
      error: 'Failed to load the test suite: invalid test "uses ghost": principal "ghost" not found',
    })
    expect(byFile['d_test.yaml']?.error).toBe('Invalid test suite: another test named same already exists')
    expect(byFile['e_test.yaml']?.error).toContain('found expectations for actions that do not exist in the input actions list: [write]')
    expect(byFile['f_test.yaml']?.error).toContain('2:1 unknown field "what"')
    expect(byFile['f_test.yaml']?.error).toContain('tests: value is required')
    expect(byFile['g_test.yaml']?.error).toMatch(/2:17 options\.now: invalid timestamp value "blah"/)
    expect(results.summary).toEqual({ overallResult: 'RESULT_ERRORED' })
  })

  it('errors suites whose testdata fixtures are malformed', async () => {
    const dir = await tree({
      'testdata/principals.yaml': 'principals:\n  bob:\n    id: bob\n    roles: [user]\n    policyVursion: x\n',
      'x_test.yaml': 'name: X\ntests: [{ name: t, input: { principals: [bob], resources: [doc], actions: [read] }, expected: [] }]\n',
      'sub/testdata/resources.yaml': 'resources:\n  doc: { id: d }\nresourceGroups:\n  g: { resources: [doc, nope] }\n',
      'sub/y_test.yaml': 'name: Y\ntests: [{ name: t, input: { principals: [bob], resources: [doc], actions: [read] }, expected: [] }]\n',
    })
    const results = await runPolicyTests(dir, { engine: fakeEngine() })
    expect(results.suites.map((s) => [s.file, s.error])).toEqual([
      ['sub/y_test.yaml', 'failed to load test fixtures from testdata: failed to load resources:\nresources["doc"].kind: value is required'],
      ['x_test.yaml', 'failed to load test fixtures from testdata: failed to load principals:\n5:5 unknown field "policyVursion"'],
    ])
  })

  it('rejects an invalid test-name filter as a configuration error', async () => {
    const dir = await tree({ ...FIXTURES })
    await expect(runPolicyTests(dir, { engine: fakeEngine(), filter: { includedTestNamesRegexp: '(' } })).rejects.toMatchObject({
      code: 'ERR_AUTHZ_INVALID_CONFIG',
      option: 'filter.includedTestNamesRegexp',
    })
  })
})

describe('findTestSuites', () => {
  it('finds *_test.{yaml,yml,json} outside hidden and testdata directories', async () => {
    const dir = await tree({
      'a_test.yaml': '',
      'b/c_test.json': '',
      'b/d_test.yml': '',
      'b/policy.yaml': '',
      '.hidden/e_test.yaml': '',
      'testdata/f_test.yaml': '',
      '.g_test.yaml': '',
    })
    expect(await findTestSuites(dir)).toEqual(['a_test.yaml', 'b/c_test.json', 'b/d_test.yml'])
  })
})
