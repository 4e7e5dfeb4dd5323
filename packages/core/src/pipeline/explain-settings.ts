/**
 * Settings of denial explanations: checked once at start-up (never in a production problem body),
 * and the development-only problem body that carries one.
 */
import { ConfigError } from '../errors.js'
import type { DecisionExplanation } from '../types.js'
import type { ExplainOptions, GuardFailure } from './types.js'

/**
 * @throws ConfigError when the options are malformed, or ask for explanations in problem bodies
 *   while `NODE_ENV` is `production`
 */
export function checkExplainOptions(options: ExplainOptions | undefined, env: NodeJS.ProcessEnv = process.env): void {
  if (options === undefined) return
  if (typeof options !== 'object' || (options as unknown) === null) throw new ConfigError('explain', 'must be { audit?, problem? }')
  for (const key of ['audit', 'problem'] as const) {
    if (options[key] !== undefined && typeof options[key] !== 'boolean') throw new ConfigError(`explain.${key}`, 'must be a boolean')
  }
  if (options.problem === true && env['NODE_ENV'] === 'production') {
    throw new ConfigError('explain.problem', 'puts policy internals in 403 bodies and is for development only; it is refused while NODE_ENV=production')
  }
}

/** The refusal with the explanation as a problem member (development only). */
export function withExplanation(failure: GuardFailure, explanation: DecisionExplanation): GuardFailure {
  return Object.freeze({ ...failure, problem: { ...failure.problem, explanation } })
}
