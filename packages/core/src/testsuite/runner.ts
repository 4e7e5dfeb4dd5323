/**
 * Runs one parsed suite against an engine: resolves fixtures, validates every test before running any
 * (as Cerbos does), then checks every principal × resource × action and compares effects and outputs.
 */
import { ConfigError } from '../errors.js'
import type { AuxData, CheckResourcesRequest, Principal, Resource } from '../types.js'
import type { Expectation, ExpectedOutput, Fixtures, SuiteDefinition, TestDefinition, TestOptions } from './definition.js'
import type { TestEngine, TestEngineFactory, TestEngineOutput } from './engine.js'
import type {
  TestActionResult,
  TestCaseResult,
  TestDetails,
  TestEffect,
  TestOutput,
  TestOutputFailure,
  TestResult,
  TestSuiteResult,
} from './results.js'
import { summarize } from './results.js'
import { jsonEqual } from './values.js'

/** Which tests to run. Mirrors the filters of `cerbos compile`. */
export interface PolicyTestFilter {
  /** Resource policies left out of the bundle (`cerbos.resource.<kind>.v<version>[/<scope>]`): tests on them are skipped. */
  excludedResourcePolicyFqns?: readonly string[] | undefined
  /** Principal policies left out of the bundle (`cerbos.principal.<id>.v<version>[/<scope>]`): tests on them are skipped. */
  excludedPrincipalPolicyFqns?: readonly string[] | undefined
  /** Only tests whose name matches this regular expression run; the others are skipped. */
  includedTestNamesRegexp?: string | undefined
}

/** A test that refers to something that does not exist; the whole suite errors. */
class InvalidTestError extends Error {}

const DEFAULT_OPTIONS: TestOptions = { lenientScopeSearch: false, strictEvaluation: false, globals: {} }
const NOW_MISSING = 'a policy used a time-based condition, but `now` was not provided in the test options'

/** A resolved test: fixtures looked up, expectations expanded to (principal, resource) pairs. */
interface ResolvedTest {
  definition: TestDefinition
  principals: { name: string; principal: Principal }[]
  resources: { name: string; resource: Resource }[]
  auxData: AuxData | undefined
  expectations: Map<string, { actions: Record<string, TestEffect>; outputs: Map<string, ExpectedOutput[]> }>
}

const pairKey = (principal: string, resource: string): string => JSON.stringify([principal, resource])

function expandNames(names: readonly string[], groups: readonly string[], groupMap: Map<string, string[]>, what: string): string[] {
  const out: string[] = []
  const add = (name: string): void => {
    if (!out.includes(name)) out.push(name)
  }
  names.forEach(add)
  for (const group of groups) {
    const members = groupMap.get(group)
    if (members === undefined) throw new InvalidTestError(`${what} group ${JSON.stringify(group)} not found`)
    members.forEach(add)
  }
  return out
}

function lookup<T>(names: readonly string[], map: Map<string, T>, what: string): { name: string; value: T }[] {
  return names.map((name) => {
    const value = map.get(name)
    if (value === undefined) throw new InvalidTestError(`${what} ${JSON.stringify(name)} not found`)
    return { name, value }
  })
}

function notIn(values: Iterable<string>, allowed: readonly string[]): string[] {
  return [...new Set([...values].filter((v) => !allowed.includes(v)))].sort()
}

function resolveExpectations(test: TestDefinition, fixtures: Fixtures, principals: string[], resources: string[]): ResolvedTest['expectations'] {
  const expectations: ResolvedTest['expectations'] = new Map()
  const actions = test.input.actions
  for (const expectation of test.expected) {
    const ps = expandNames(expectation.principals, expectation.principalGroups, fixtures.principalGroups, 'principal')
    const rs = expandNames(expectation.resources, expectation.resourceGroups, fixtures.resourceGroups, 'resource')
    const unknownPrincipals = notIn(ps, principals)
    if (unknownPrincipals.length > 0) {
      throw new InvalidTestError(`found expectations for principals that do not exist in the input principals list: [${unknownPrincipals.join(' ')}]`)
    }
    const unknownResources = notIn(rs, resources)
    if (unknownResources.length > 0) {
      throw new InvalidTestError(`found expectations for resources that do not exist in the input resources list: [${unknownResources.join(' ')}]`)
    }
    const unknownActions = notIn(Object.keys(expectation.actions), actions)
    if (unknownActions.length > 0) {
      throw new InvalidTestError(`found expectations for actions that do not exist in the input actions list: [${unknownActions.join(' ')}]`)
    }
    const unknownOutputActions = notIn(
      expectation.outputs.map((o) => o.action),
      actions,
    )
    if (unknownOutputActions.length > 0) {
      throw new InvalidTestError(`found output expectations for actions that are not in the input actions list: [${unknownOutputActions.join(' ')}]`)
    }
    for (const p of ps) for (const r of rs) expectations.set(pairKey(p, r), toPairExpectation(expectation))
  }
  return expectations
}

function toPairExpectation(expectation: Expectation): { actions: Record<string, TestEffect>; outputs: Map<string, ExpectedOutput[]> } {
  const outputs = new Map<string, ExpectedOutput[]>()
  for (const o of expectation.outputs) outputs.set(o.action, [...(outputs.get(o.action) ?? []), ...o.expected])
  return { actions: expectation.actions, outputs }
}

function resolveTest(test: TestDefinition, fixtures: Fixtures): ResolvedTest {
  const principalNames = expandNames(test.input.principals, test.input.principalGroups, fixtures.principalGroups, 'principal')
  const resourceNames = expandNames(test.input.resources, test.input.resourceGroups, fixtures.resourceGroups, 'resource')
  const principals = lookup(principalNames, fixtures.principals, 'principal').map(({ name, value }) => ({ name, principal: value }))
  const resources = lookup(resourceNames, fixtures.resources, 'resource').map(({ name, value }) => ({ name, resource: value }))
  const auxData = test.input.auxData === undefined ? undefined : lookup([test.input.auxData], fixtures.auxData, 'auxData')[0]?.value
  const expectations = resolveExpectations(test, fixtures, principalNames, resourceNames)
  return { definition: test, principals, resources, auxData, expectations }
}

/** Fills in a missing version / scope the way the suite's `defaultPolicyVersion` / `defaultScope` say. */
function withDefaults<T extends Principal | Resource>(target: T, options: TestOptions): T {
  const out = { ...target }
  if (!out.policyVersion && options.defaultPolicyVersion !== undefined) out.policyVersion = options.defaultPolicyVersion
  if (!out.scope && options.defaultScope !== undefined) out.scope = options.defaultScope
  return out
}

function policyFqn(kind: 'resource' | 'principal', name: string, version: string | undefined, scope: string | undefined): string {
  const s = scope === undefined || scope === '.' ? '' : scope
  return `cerbos.${kind}.${name}.v${version || 'default'}${s ? `/${s}` : ''}`
}

/**
 * A Date that reports when its value is read. Engines may take the time once per call whether or not
 * a policy needs it; what matters for "`now` was not provided" is whether a condition used the value.
 */
class WatchedDate extends Date {
  onRead: () => void = () => {}
}
for (const name of Object.getOwnPropertyNames(Date.prototype)) {
  const original: unknown = Reflect.get(Date.prototype, name)
  if (name === 'constructor' || name.startsWith('set') || typeof original !== 'function') continue
  Object.defineProperty(WatchedDate.prototype, name, {
    value: function (this: WatchedDate, ...args: unknown[]): unknown {
      this.onRead()
      return Reflect.apply(original, this, args)
    },
  })
}
Object.defineProperty(WatchedDate.prototype, Symbol.toPrimitive, {
  value: function (this: WatchedDate, hint: string): unknown {
    this.onRead()
    return hint === 'number' ? this.getTime() : this.toString()
  },
})

/** A clock the runner controls per check and can ask whether a policy used the time. */
class TestClock {
  fixed: Date | undefined
  readWithoutFixed = false
  readonly now = (): Date => {
    if (this.fixed !== undefined) return this.fixed
    const date = new WatchedDate()
    date.onRead = () => {
      this.readWithoutFixed = true
    }
    return date
  }
}

function outputsFor(entries: readonly TestEngineOutput[], action: string): TestOutput[] {
  const outputs: TestOutput[] = []
  for (const entry of entries) {
    if (typeof entry.action === 'string' && entry.action !== action) continue
    const output: TestOutput = { src: entry.src, action }
    if (typeof entry.error === 'string' && entry.error !== '') output.error = entry.error
    else output.val = entry.val ?? null
    outputs.push(output)
  }
  return outputs
}

function compareOutputs(expected: readonly ExpectedOutput[], actual: readonly TestOutput[]): TestOutputFailure[] {
  const failures: TestOutputFailure[] = []
  for (const want of expected) {
    const got = actual.find((o) => o.src === want.src)
    if (got === undefined) failures.push({ src: want.src, missing: { expected: want.val } })
    else if (got.error !== undefined) failures.push({ src: want.src, errored: { expected: want.val, error: got.error } })
    else if (!jsonEqual(want.val, got.val)) failures.push({ src: want.src, mismatched: { expected: want.val, actual: got.val } })
  }
  return failures
}

/** Runs suites against engines built by one factory, sharing engines across suites with the same options. */
export class SuiteRunner {
  private readonly engines = new Map<string, Promise<TestEngine>>()
  private readonly clock = new TestClock()
  private readonly factory: TestEngineFactory
  private readonly filter: PolicyTestFilter
  private readonly nameFilter: RegExp | undefined

  /** @throws ConfigError when `filter.includedTestNamesRegexp` is not a valid regular expression */
  constructor(factory: TestEngineFactory, filter: PolicyTestFilter = {}) {
    this.factory = factory
    this.filter = filter
    try {
      this.nameFilter = filter.includedTestNamesRegexp ? new RegExp(filter.includedTestNamesRegexp) : undefined
    } catch (err) {
      throw new ConfigError('filter.includedTestNamesRegexp', 'is not a valid regular expression', { cause: err })
    }
  }

  private engineFor(options: TestOptions): Promise<TestEngine> {
    const key = JSON.stringify([options.lenientScopeSearch, options.strictEvaluation, options.globals])
    let engine = this.engines.get(key)
    if (engine === undefined) {
      engine = Promise.resolve(
        this.factory({
          lenientScopeSearch: options.lenientScopeSearch,
          strictEvaluation: options.strictEvaluation,
          globals: options.globals,
          now: this.clock.now,
        }),
      )
      this.engines.set(key, engine)
    }
    return engine
  }

  /** Runs a parsed suite with the fixtures from its `testdata/` already merged under the suite's own. */
  async run(file: string, suite: SuiteDefinition, fixtures: Fixtures): Promise<TestSuiteResult> {
    const base = { file, name: suite.name, ...(suite.description ? { description: suite.description } : {}) }
    if (suite.skip) {
      return { ...base, summary: { overallResult: 'RESULT_SKIPPED' }, ...(suite.skipReason ? { skipReason: suite.skipReason } : {}) }
    }
    const seen = new Set<string>()
    for (const test of suite.tests) {
      if (seen.has(test.name)) return { ...base, summary: { overallResult: 'RESULT_ERRORED' }, error: `Invalid test suite: another test named ${test.name} already exists` }
      seen.add(test.name)
    }
    const resolved: ResolvedTest[] = []
    for (const test of suite.tests) {
      try {
        resolved.push(resolveTest(test, fixtures))
      } catch (err) {
        if (!(err instanceof InvalidTestError)) throw err
        return {
          ...base,
          summary: { overallResult: 'RESULT_ERRORED' },
          error: `Failed to load the test suite: invalid test ${JSON.stringify(test.name)}: ${err.message}`,
        }
      }
    }
    const testCases: TestCaseResult[] = []
    const results: TestResult[] = []
    for (const test of resolved) {
      const options = test.definition.options ?? suite.options ?? DEFAULT_OPTIONS
      const testCase = await this.runTest(test, options)
      testCases.push(testCase)
      for (const p of testCase.principals) for (const r of p.resources) for (const a of r.actions) results.push(a.details.result)
    }
    return { ...base, summary: summarize(results, 'RESULT_SKIPPED'), testCases }
  }

  private skipReason(test: ResolvedTest, principal: Principal, resource: Resource): string | undefined {
    const { excludedResourcePolicyFqns = [], excludedPrincipalPolicyFqns = [] } = this.filter
    if (excludedResourcePolicyFqns.includes(policyFqn('resource', resource.kind, resource.policyVersion, resource.scope))) {
      return 'Resource matched a policy that was excluded from the bundle'
    }
    if (excludedPrincipalPolicyFqns.includes(policyFqn('principal', principal.id, principal.policyVersion, principal.scope))) {
      return 'Principal matched a policy that was excluded from the bundle'
    }
    if (this.nameFilter && !this.nameFilter.test(test.definition.name)) return 'Test name did not match the provided pattern'
    if (test.definition.skip) return test.definition.skipReason ?? ''
    return undefined
  }

  private async runTest(test: ResolvedTest, options: TestOptions): Promise<TestCaseResult> {
    const principals = []
    for (const p of test.principals) {
      const principal = withDefaults(p.principal, options)
      const resources = []
      for (const r of test.resources) {
        const resource = withDefaults(r.resource, options)
        const expectation = test.expectations.get(pairKey(p.name, r.name))
        const skipReason = this.skipReason(test, principal, resource)
        const actions: TestActionResult[] = []
        for (const action of test.definition.input.actions) {
          const details: TestDetails =
            skipReason !== undefined
              ? { result: 'RESULT_SKIPPED', ...(skipReason ? { skipReason } : {}) }
              : await this.runCheck(
                  { principal, resources: [{ resource, actions: [action] }], ...(test.auxData ? { auxData: test.auxData } : {}) },
                  options,
                  action,
                  expectation?.actions[action] ?? 'EFFECT_DENY',
                  expectation?.outputs.get(action) ?? [],
                )
          actions.push({ name: action, details })
        }
        resources.push({ name: r.name, actions })
      }
      principals.push({ name: p.name, resources })
    }
    return { name: test.definition.name, principals }
  }

  private async runCheck(
    request: CheckResourcesRequest,
    options: TestOptions,
    action: string,
    expected: TestEffect,
    expectedOutputs: readonly ExpectedOutput[],
  ): Promise<TestDetails> {
    const engine = await this.engineFor(options)
    this.clock.fixed = options.now
    this.clock.readWithoutFixed = false
    let actual: TestEffect
    let outputs: TestOutput[]
    try {
      const response = await engine.checkResources(request)
      const result = response.results[0]
      const effect = result?.actions[action]
      if (effect !== 'EFFECT_ALLOW' && effect !== 'EFFECT_DENY') return { result: 'RESULT_ERRORED', error: `engine returned no effect for action ${JSON.stringify(action)}` }
      actual = effect
      outputs = outputsFor(result?.outputs ?? [], action)
    } catch (err) {
      return { result: 'RESULT_ERRORED', error: err instanceof Error ? err.message : String(err) }
    }
    // Widened: the clock sets the flag during the run, which narrowing cannot see.
    if (this.clock.readWithoutFixed as boolean) return { result: 'RESULT_ERRORED', error: NOW_MISSING }
    const outputFailures = compareOutputs(expectedOutputs, outputs)
    if (actual === expected && outputFailures.length === 0) {
      return { result: 'RESULT_PASSED', success: { effect: actual, ...(outputs.length > 0 ? { outputs } : {}) } }
    }
    return { result: 'RESULT_FAILED', failure: { expected, actual, ...(outputFailures.length > 0 ? { outputs: outputFailures } : {}) } }
  }
}
