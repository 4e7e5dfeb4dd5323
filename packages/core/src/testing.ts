/**
 * `@meshguard/core/testing`: run Cerbos policy test suites (`*_test.yaml` + `testdata/`) against the
 * embedded engine or another engine, as `meshguard test` does.
 *
 * @packageDocumentation
 */
export * from './testsuite/index.js'
