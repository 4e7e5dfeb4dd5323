/**
 * Test results in the shape of Cerbos's `TestResults` JSON (`cerbos compile --output=json`), so tools
 * that read Cerbos test output read ours. Empty fields are left out, as protobuf JSON does.
 */

/** The outcome of one check, a test case, a suite or a whole run. */
export type TestResult = 'RESULT_SKIPPED' | 'RESULT_PASSED' | 'RESULT_FAILED' | 'RESULT_ERRORED'

/** An effect as it appears in test results. */
export type TestEffect = 'EFFECT_ALLOW' | 'EFFECT_DENY'

/** An output as the engine produced it for one action. */
export interface TestOutput {
  src: string
  action: string
  val?: unknown
  /** Set when the output expression failed to evaluate. */
  error?: string
}

/** Why an expected output did not match. Exactly one of `missing`, `mismatched`, `errored` is set. */
export interface TestOutputFailure {
  src: string
  missing?: { expected: unknown }
  mismatched?: { expected: unknown; actual: unknown }
  errored?: { expected: unknown; error: string }
}

/** The details of one principal × resource × action check. */
export interface TestDetails {
  result: TestResult
  success?: { effect: TestEffect; outputs?: TestOutput[] }
  failure?: { expected: TestEffect; actual: TestEffect; outputs?: TestOutputFailure[] }
  error?: string
  skipReason?: string
}

/** One action of one resource of one principal. */
export interface TestActionResult {
  name: string
  details: TestDetails
}

/** One resource checked for one principal. */
export interface TestResourceResult {
  name: string
  actions: TestActionResult[]
}

/** One principal of a test case. */
export interface TestPrincipalResult {
  name: string
  resources: TestResourceResult[]
}

/** One entry of `tests[]`. */
export interface TestCaseResult {
  name: string
  principals: TestPrincipalResult[]
}

/** How many checks ended with one result. */
export interface TestResultCount {
  result: TestResult
  count: number
}

/** Totals of a suite or a run. `testsCount` and `resultCounts` are absent when nothing ran. */
export interface TestSummary {
  overallResult: TestResult
  testsCount?: number
  resultCounts?: TestResultCount[]
}

/** One suite file. A suite that failed to load has `error` and no `testCases`. */
export interface TestSuiteResult {
  /** Path of the suite file relative to the directory that was run. */
  file: string
  /** The suite's `name`, or `Unknown` when the file could not be read as a suite. */
  name: string
  summary: TestSummary
  testCases?: TestCaseResult[]
  description?: string
  skipReason?: string
  error?: string
}

/** Every suite of a run, sorted by file. */
export interface TestResults {
  suites: TestSuiteResult[]
  summary: TestSummary
}

const RESULT_ORDER: readonly TestResult[] = ['RESULT_SKIPPED', 'RESULT_PASSED', 'RESULT_FAILED', 'RESULT_ERRORED']

/** The worse of two results (errored > failed > passed > skipped), as Cerbos ranks them. */
export function worseResult(a: TestResult, b: TestResult): TestResult {
  return RESULT_ORDER.indexOf(a) >= RESULT_ORDER.indexOf(b) ? a : b
}

/** Summarises individual check results; `fallback` is the overall result when there are none. */
export function summarize(results: readonly TestResult[], fallback: TestResult): TestSummary {
  if (results.length === 0) return { overallResult: fallback }
  const counts = new Map<TestResult, number>()
  let overall: TestResult = 'RESULT_SKIPPED'
  for (const result of results) {
    counts.set(result, (counts.get(result) ?? 0) + 1)
    overall = worseResult(overall, result)
  }
  const resultCounts = RESULT_ORDER.filter((r) => counts.has(r)).map((result) => ({ result, count: counts.get(result) ?? 0 }))
  return { overallResult: overall, testsCount: results.length, resultCounts }
}

/** Adds up suite summaries into the summary of a whole run. */
export function summarizeSuites(suites: readonly TestSuiteResult[]): TestSummary {
  const counts = new Map<TestResult, number>()
  let overall: TestResult | undefined
  let total = 0
  for (const suite of suites) {
    overall = overall === undefined ? suite.summary.overallResult : worseResult(overall, suite.summary.overallResult)
    total += suite.summary.testsCount ?? 0
    for (const { result, count } of suite.summary.resultCounts ?? []) counts.set(result, (counts.get(result) ?? 0) + count)
  }
  if (overall === undefined) return { overallResult: 'RESULT_SKIPPED' }
  if (total === 0) return { overallResult: overall }
  const resultCounts = RESULT_ORDER.filter((r) => counts.has(r)).map((result) => ({ result, count: counts.get(result) ?? 0 }))
  return { overallResult: overall, testsCount: total, resultCounts }
}
