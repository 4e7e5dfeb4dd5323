import { ConditionError } from '../errors.js'

interface CelLibraryError {
  name?: unknown
  code?: unknown
  summary?: unknown
  message?: unknown
}

/** Evaluation failure kinds reported with their own `reason`; every other one is `evaluation_error`. */
const EVALUATION_REASONS: ReadonlySet<string> = new Set([
  'no_such_key',
  'no_such_overload',
  'division_by_zero',
  'modulo_by_zero',
  'numeric_overflow',
  'index_out_of_bounds',
  'invalid_argument',
])

/** cel-go words failures in lower case (`no such key: x`); the engine reports these texts as evaluation errors. */
function celGoMessage(summary: string): string {
  return summary.length > 0 ? summary[0]!.toLowerCase() + summary.slice(1) : summary
}

function reasonOf(e: CelLibraryError, phase: 'compile' | 'evaluate'): string {
  if (e.name === 'ParseError') return 'parse_error'
  if (e.name === 'TypeError' && phase === 'compile') return 'type_error'
  if (typeof e.code === 'string' && EVALUATION_REASONS.has(e.code)) return e.code
  return phase === 'compile' ? 'type_error' : 'evaluation_error'
}

/**
 * Turns anything thrown while compiling or evaluating CEL into a {@link ConditionError} with a
 * one-line message (no source excerpt) and a stable snake_case `reason`: `parse_error` and
 * `type_error` at compile time; `no_such_key`, `no_such_overload`, `division_by_zero`, ... or
 * `evaluation_error` at evaluation time.
 */
export function toConditionError(err: unknown, phase: 'compile' | 'evaluate'): ConditionError {
  if (err instanceof ConditionError) return err
  const e = (typeof err === 'object' && err !== null ? err : {}) as CelLibraryError
  const text =
    typeof e.summary === 'string' ? e.summary : typeof e.message === 'string' ? e.message.split('\n')[0]! : String(err)
  const unknown = /^Unknown variable: (.+)$/.exec(text)
  if (phase === 'compile' && unknown !== null) {
    // cel-go's wording, which Cerbos shows in its compile errors.
    return new ConditionError(`undeclared reference to '${unknown[1]}' (in container '')`, { reason: 'type_error', cause: err })
  }
  const reason = reasonOf(e, phase)
  const outOfBounds = reason === 'index_out_of_bounds' ? /index (-?\d+)/.exec(text) : null
  if (outOfBounds !== null) return new ConditionError(`index out of bounds: ${outOfBounds[1]}`, { reason, cause: err })
  // At run time cel-go reports a failed dispatch as plain `no such overload`.
  const message = phase === 'evaluate' && reason === 'no_such_overload' ? 'no such overload' : celGoMessage(text)
  return new ConditionError(message, { reason, cause: err })
}
