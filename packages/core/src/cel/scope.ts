import { ConditionError } from '../errors.js'
import type { CelActivation, CelPrincipal, CelRequest, CelResource } from './types.js'

/**
 * The object the CEL library resolves top-level identifiers on. One instance is reused for every
 * evaluation: `evaluate` points it at the activation for the duration of the call and restores the
 * previous one afterwards (evaluation is synchronous; nested evaluations, e.g. a lazy variable
 * evaluated inside a condition, restore correctly). No allocation per evaluation.
 */
class CerbosScope {
  activation: CelActivation | undefined = undefined

  private get a(): CelActivation {
    const activation = this.activation
    if (activation === undefined) throw new ConditionError('CEL evaluated outside of an activation', { reason: 'no_activation' })
    return activation
  }

  get request(): CelRequest {
    return this.a.request
  }
  get R(): CelResource {
    return this.a.request.resource
  }
  get P(): CelPrincipal {
    return this.a.request.principal
  }
  get V(): Record<string, unknown> {
    return this.a.variables
  }
  get variables(): Record<string, unknown> {
    return this.a.variables
  }
  get C(): Record<string, unknown> {
    return this.a.constants
  }
  get constants(): Record<string, unknown> {
    return this.a.constants
  }
  get G(): Record<string, unknown> {
    return this.a.globals
  }
  get globals(): Record<string, unknown> {
    return this.a.globals
  }
  get runtime(): CelActivation['runtime'] {
    return this.a.runtime
  }
}

/** The identifiers a Cerbos condition may use at the top level. */
export const CERBOS_IDENTIFIERS = Object.freeze([
  'request',
  'R',
  'P',
  'V',
  'variables',
  'C',
  'constants',
  'G',
  'globals',
  'runtime',
] as const)

/** The single shared scope; see {@link CerbosScope}. */
export const scope = new CerbosScope()

/** The request time of the evaluation in progress (`now()`). */
export function currentNow(): Date {
  const activation = scope.activation
  if (activation === undefined) throw new ConditionError('now() evaluated outside of an activation', { reason: 'no_activation' })
  return activation.now
}
