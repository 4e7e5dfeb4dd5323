// Public API of the testsuite module: run Cerbos policy test suites (`*_test.yaml` + `testdata/`).
export { runPolicyTests, findTestSuites, TEST_SUITE_FILE } from './run.js'
export type { RunPolicyTestsOptions } from './run.js'
export type { PolicyTestFilter } from './runner.js'
export type { TestEngine, TestEngineFactory, TestEngineOptions, TestEngineOutput, TestEngineResponse } from './engine.js'
export { embeddedTestEngines } from './embedded.js'
export { formatTestResults } from './format.js'
export type {
  TestResult,
  TestEffect,
  TestOutput,
  TestOutputFailure,
  TestDetails,
  TestActionResult,
  TestResourceResult,
  TestPrincipalResult,
  TestCaseResult,
  TestResultCount,
  TestSummary,
  TestSuiteResult,
  TestResults,
} from './results.js'
