// The explain pass: why a decision came out as it did, evaluated apart from the decision itself.
export { explainInputs } from './explain-request.js'
export type { ExplainedCheck } from './explain-request.js'
export { DEFAULT_EXPLAIN_LIMITS } from './budget.js'
export type { ExplainLimits } from './budget.js'
export { formatExplanation } from './format.js'
