import { Environment } from '@marcbachmann/cel-js'
import { registerCerbosLib } from './lib/cerbos.js'
import { registerCollections } from './lib/collections.js'
import { registerComprehensions } from './lib/comprehensions.js'
import { registerConversions } from './lib/conversions.js'
import { registerHierarchy } from './lib/hierarchy.js'
import { registerNetwork } from './lib/network.js'
import { registerNumericSemantics } from './lib/numeric.js'
import { registerOptionals } from './lib/optionals.js'
import { registerPaths } from './lib/paths.js'
import { registerRegex } from './lib/regex.js'
import { registerSpiffe } from './lib/spiffe.js'
import { registerStrings } from './lib/strings.js'
import { registerTime } from './lib/time.js'
import { CERBOS_IDENTIFIERS, currentNow } from './scope.js'

/** Options for {@link createCelEnvironment}. */
export interface CelEnvironmentOptions {
  /** Accept any identifier as a `dyn` variable (used to run the cel-spec conformance files). */
  readonly anyVariable?: boolean
}

/**
 * Builds a CEL environment with Cerbos's functions and semantics: optional types on, mixed
 * literals allowed (cel-go's defaults), cross-type numeric equality, RE2 `matches`, the Cerbos
 * library and the cel-go extensions Cerbos enables. Building one is expensive (do it once).
 */
export function createCelEnvironment(options: CelEnvironmentOptions = {}): Environment {
  const env = new Environment({
    enableOptionalTypes: true,
    homogeneousAggregateLiterals: false,
    unlistedVariablesAreDyn: options.anyVariable === true,
  })
  registerNumericSemantics(env)
  registerCerbosLib(env)
  registerHierarchy(env)
  registerTime(env)
  registerConversions(env)
  registerRegex(env)
  registerStrings(env)
  registerCollections(env)
  registerNetwork(env)
  registerSpiffe(env)
  registerPaths(env)
  registerComprehensions(env)
  registerOptionals(env)
  env.registerFunction('now(): google.protobuf.Timestamp', () => currentNow())
  return env
}

let shared: Environment | undefined

/** The shared Cerbos environment: the Cerbos identifiers as `dyn`, nothing else. Built on first use. */
export function cerbosEnvironment(): Environment {
  if (shared === undefined) {
    const env = createCelEnvironment()
    for (const name of CERBOS_IDENTIFIERS) env.registerVariable(name, 'dyn')
    shared = env
  }
  return shared
}

let functionNames: ReadonlySet<string> | undefined

/**
 * The names a policy can call in the Cerbos environment (functions and macros), without the
 * internal replacements registered under `cerbos…` names. For "did you mean" suggestions.
 */
export function celFunctionNames(): ReadonlySet<string> {
  functionNames ??= new Set(
    cerbosEnvironment()
      .getDefinitions()
      .functions.map((f) => f.name)
      .filter((name) => /^[a-z]/i.test(name) && !/^cerbos[A-Z]/.test(name)),
  )
  return functionNames
}
