/**
 * Runs policy test suites on the embedded engine: one engine per option set, all sharing one compiled
 * policy set, answering through `checkInputs` so every output keeps its action and error.
 */
import { EmbeddedEngine } from '../engine/index.js'
import type { CompiledPolicySet } from '../policy/index.js'
import type { TestEngineFactory, TestEngineResponse } from './engine.js'

/**
 * A {@link TestEngineFactory} backed by {@link EmbeddedEngine} over an already compiled policy set.
 *
 * @example
 * ```ts
 * const set = await loadPolicyDirectory(dir)
 * const results = await runPolicyTests(dir, { engine: embeddedTestEngines(set) })
 * ```
 */
export function embeddedTestEngines(set: CompiledPolicySet): TestEngineFactory {
  return (options) => {
    const engine = new EmbeddedEngine(set, {
      globals: { ...options.globals },
      lenientScopeSearch: options.lenientScopeSearch,
      strictEvaluation: options.strictEvaluation,
      now: options.now,
    })
    return {
      checkResources(request): TestEngineResponse {
        const outputs = engine.checkInputs(
          request.resources.map(({ resource, actions }) => ({ principal: request.principal, resource, actions, auxData: request.auxData })),
        )
        return {
          results: outputs.map((output) => ({
            actions: Object.fromEntries(Object.entries(output.actions).map(([action, decision]) => [action, decision.effect])),
            outputs: output.outputs,
          })),
        }
      },
    }
  }
}
