/**
 * What the test-suite runner needs from an engine. Kept to one method so the embedded engine, a remote
 * PDP or a test double can all run suites.
 */
import type { CheckResourcesRequest, CheckResourcesResponse } from '../types.js'

/** Engine settings a suite or test can choose through its `options`. */
export interface TestEngineOptions {
  /** `options.lenientScopeSearch`. */
  readonly lenientScopeSearch: boolean
  /** `options.strictEvaluation`: a condition that fails to evaluate denies the actions that reference it. */
  readonly strictEvaluation: boolean
  /** `options.globals`, visible to policies as `G` / `globals`. */
  readonly globals: Readonly<Record<string, unknown>>
  /**
   * The clock behind CEL's `now()`. It returns the test's `options.now`; the runner also uses it to
   * notice a time-based condition evaluated without a fixed `now` (which errors the test, as in Cerbos).
   */
  readonly now: () => Date
}

/** Anything that can decide a CheckResources request (a `DecisionEngine` qualifies). */
export interface TestEngine {
  checkResources(request: CheckResourcesRequest): CheckResourcesResponse | Promise<CheckResourcesResponse>
}

/** Builds (or returns a cached) engine for a set of options. Called once per distinct option set. */
export type TestEngineFactory = (options: TestEngineOptions) => TestEngine | Promise<TestEngine>
