/**
 * Finds the policy test suites in a policy directory and runs them all: `runPolicyTests(dir, options)`.
 */
import { readFile, readdir } from 'node:fs/promises'
import { dirname, join, relative, sep } from 'node:path'
import { loadPolicyDirectory } from '../policy/index.js'
import { DocumentChecker } from './checker.js'
import { readSuite, type Fixtures } from './definition.js'
import { embeddedTestEngines } from './embedded.js'
import type { TestEngineFactory } from './engine.js'
import { FixtureError, loadFixtures } from './fixtures.js'
import type { TestResults, TestSuiteResult } from './results.js'
import { summarizeSuites } from './results.js'
import { SuiteRunner, type PolicyTestFilter } from './runner.js'
import { SourceSyntaxError, formatSourceIssue, readSourceDocument } from './source.js'

/** Options of {@link runPolicyTests}. */
export interface RunPolicyTestsOptions {
  /**
   * Builds the engine a suite runs against, for the suite's engine options (scope search, globals, ...).
   * @defaultValue the embedded engine over the policies compiled from `dir`
   */
  engine?: TestEngineFactory | undefined
  /** Which tests to run. @defaultValue all */
  filter?: PolicyTestFilter | undefined
}

/** `*_test.yaml`, `*_test.yml` and `*_test.json` are suites. */
export const TEST_SUITE_FILE = /_test\.(ya?ml|json)$/

/**
 * Lists the suite files under `dir` (relative paths, `/`-separated, sorted), skipping hidden entries and
 * `testdata/` directories the way the Cerbos disk store does.
 */
export async function findTestSuites(dir: string): Promise<string[]> {
  const found: string[] = []
  const walk = async (current: string): Promise<void> => {
    for (const entry of await readdir(current, { withFileTypes: true })) {
      if (entry.name.startsWith('.')) continue
      const full = join(current, entry.name)
      if (entry.isDirectory()) {
        if (entry.name !== 'testdata') await walk(full)
      } else if (entry.isFile() && TEST_SUITE_FILE.test(entry.name)) {
        found.push(relative(dir, full).split(sep).join('/'))
      }
    }
  }
  await walk(dir)
  return found.sort()
}

function errored(file: string, name: string, error: string, description?: string): TestSuiteResult {
  return { file, name, summary: { overallResult: 'RESULT_ERRORED' }, error, ...(description ? { description } : {}) }
}

/** Suite-level fixtures win over `testdata/` ones with the same name. */
function mergeFixtures(shared: Fixtures, own: Fixtures): Fixtures {
  return {
    principals: new Map([...shared.principals, ...own.principals]),
    principalGroups: new Map([...shared.principalGroups, ...own.principalGroups]),
    resources: new Map([...shared.resources, ...own.resources]),
    resourceGroups: new Map([...shared.resourceGroups, ...own.resourceGroups]),
    auxData: new Map([...shared.auxData, ...own.auxData]),
  }
}

async function runSuiteFile(dir: string, file: string, runner: SuiteRunner, fixtureCache: Map<string, Promise<Fixtures>>): Promise<TestSuiteResult> {
  const path = join(dir, file)
  let suite
  try {
    const doc = readSourceDocument(await readFile(path, 'utf8'))
    const check = new DocumentChecker(doc)
    suite = readSuite(doc, check)
    if (check.issues.length > 0) throw new SourceSyntaxError(check.issues)
  } catch (err) {
    if (!(err instanceof SourceSyntaxError)) throw err
    return errored(file, 'Unknown', `failed to load test suite:\n${err.issues.map(formatSourceIssue).join('\n')}`)
  }
  const testdata = join(dirname(path), 'testdata')
  let shared = fixtureCache.get(testdata)
  if (shared === undefined) {
    shared = loadFixtures(testdata)
    fixtureCache.set(testdata, shared)
  }
  let fixtures: Fixtures
  try {
    fixtures = mergeFixtures(await shared, suite.fixtures)
  } catch (err) {
    if (!(err instanceof FixtureError)) throw err
    return errored(file, suite.name, `failed to load test fixtures from testdata: ${err.message}`, suite.description)
  }
  return await runner.run(file, suite, fixtures)
}

/**
 * Runs every policy test suite found under `dir` (see {@link findTestSuites}) and returns Cerbos-shaped
 * `TestResults`. Problems in a suite (bad YAML, unknown fixtures, ...) become an errored suite result,
 * never an exception; only I/O failures and engine construction failures throw.
 *
 * @throws PolicyError when no `engine` is given and the policies in `dir` do not compile
 * @throws ConfigError when `filter.includedTestNamesRegexp` is not a valid regular expression
 */
export async function runPolicyTests(dir: string, options: RunPolicyTestsOptions = {}): Promise<TestResults> {
  const engine = options.engine ?? embeddedTestEngines(await loadPolicyDirectory(dir))
  const runner = new SuiteRunner(engine, options.filter)
  const fixtureCache = new Map<string, Promise<Fixtures>>()
  const suites: TestSuiteResult[] = []
  for (const file of await findTestSuites(dir)) suites.push(await runSuiteFile(dir, file, runner, fixtureCache))
  return { suites, summary: summarizeSuites(suites) }
}
