// Public API of the engine module: named exports only. Owned by the engine work stream.
/**
 * The embedded Cerbos-compatible engine.
 *
 * - `EmbeddedEngine.fromDirectory(dir, options)` / `EmbeddedEngine.fromSources(sources, options)`
 * - `engine.checkResources(request)` (async, `DecisionEngine`) and `engine.checkResourcesSync(request)`
 * - `engine.checkInputs(inputs)`: Cerbos `CheckOutput`s with attribution, outputs and evaluation errors
 * - `engine.swap(set)` (atomic), `engine.reload()` (keeps the last good set on failure), `engine.policyDigest`
 *
 * Options: `{ globals, lenientScopeSearch, strictEvaluation, schemaEnforcement: 'none' | 'warn' | 'reject', now }`.
 */
export { EmbeddedEngine } from './embedded-engine.js'
export { NO_MATCH } from './check.js'
export type {
  EmbeddedEngineOptions,
  EngineAuxData,
  SchemaEnforcement,
  CheckInput,
  CheckOutput,
  CheckOutputEntry,
  ActionEffect,
} from './types.js'
export type { EvaluationError } from './evaluation.js'
export * from './plan/index.js'
export { DEFAULT_EXPLAIN_LIMITS, formatExplanation } from './explain/index.js'
export type { ExplainLimits } from './explain/index.js'
