/**
 * `@meshguard/core/testing`: run Cerbos policy test suites (`*_test.yaml` + `testdata/`) against the
 * embedded engine or another engine, as `meshguard test` does; and the tools that look into
 * decisions and policy changes: explanations (their shape, limits and text form) and shadow
 * comparisons of a candidate policy set.
 *
 * @packageDocumentation
 */
export * from './testsuite/index.js'
export { formatExplanation, DEFAULT_EXPLAIN_LIMITS } from './engine/index.js'
export type { ExplainLimits } from './engine/index.js'
export type { ExplainedResource, ExplainedAction, ExplainedRule, ExplainedDerivedRole, ExplainedCondition } from './types.js'
export { shadowDifferences, openShadowPolicies } from './pipeline/index.js'
export type { ShadowEngine, ShadowOptions, ShadowPolicies, ShadowPoliciesOptions } from './pipeline/index.js'
export type { AuditShadow, AuditShadowDifference, KeepAllowed } from './audit/index.js'
