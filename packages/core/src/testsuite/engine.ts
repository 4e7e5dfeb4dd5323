/**
 * What the test-suite runner needs from an engine. Kept to one method so the embedded engine, a remote
 * PDP or a test double can all run suites.
 */
import type { CheckResourcesRequest, Effect } from '../types.js'

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

/** An output as an engine reports it. `action` and `error` are read when present (the Cerbos HTTP API sends both). */
export interface TestEngineOutput {
  src: string
  val?: unknown
  action?: string | undefined
  error?: string | undefined
}

/** The part of a CheckResources response the runner reads (a `CheckResourcesResponse` qualifies). */
export interface TestEngineResponse {
  results: readonly { actions: Readonly<Record<string, Effect>>; outputs?: readonly TestEngineOutput[] | undefined }[]
}

/** Anything that can decide a CheckResources request (a `DecisionEngine` qualifies). */
export interface TestEngine {
  checkResources(request: CheckResourcesRequest): TestEngineResponse | Promise<TestEngineResponse>
}

/** Builds (or returns a cached) engine for a set of options. Called once per distinct option set. */
export type TestEngineFactory = (options: TestEngineOptions) => TestEngine | Promise<TestEngine>
