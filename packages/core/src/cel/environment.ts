import { Environment } from '@marcbachmann/cel-js'
import { CERBOS_IDENTIFIERS, currentNow } from './scope.js'

/**
 * Builds the one CEL environment every condition is compiled in: Cerbos's top-level identifiers as
 * `dyn`, optional types on, mixed literals allowed (cel-go's defaults), and the Cerbos functions.
 * Building an environment is expensive, so this runs once per process.
 */
function createCerbosEnvironment(): Environment {
  const env = new Environment({
    enableOptionalTypes: true,
    homogeneousAggregateLiterals: false,
    unlistedVariablesAreDyn: false,
  })
  for (const name of CERBOS_IDENTIFIERS) env.registerVariable(name, 'dyn')
  env.registerFunction('now(): google.protobuf.Timestamp', () => currentNow())
  return env
}

let shared: Environment | undefined

/** The shared Cerbos CEL environment, built on first use. */
export function cerbosEnvironment(): Environment {
  shared ??= createCerbosEnvironment()
  return shared
}
