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

interface FailureText {
  readonly message: string
  readonly reason: string
}

/** The one-line message and reason of a CEL failure (the single source of both error forms below). */
function describe(err: unknown, phase: 'compile' | 'evaluate'): FailureText {
  const e = (typeof err === 'object' && err !== null ? err : {}) as CelLibraryError
  const text =
    typeof e.summary === 'string' ? e.summary : typeof e.message === 'string' ? e.message.split('\n')[0]! : String(err)
  const unknown = phase === 'compile' ? /^Unknown variable: (.+)$/.exec(text) : null
  if (unknown !== null) {
    // cel-go's wording, which Cerbos shows in its compile errors.
    return { message: `undeclared reference to '${unknown[1]}' (in container '')`, reason: 'type_error' }
  }
  const reason = reasonOf(e, phase)
  const outOfBounds = reason === 'index_out_of_bounds' ? /index (-?\d+)/.exec(text) : null
  if (outOfBounds !== null) return { message: `index out of bounds: ${outOfBounds[1]}`, reason }
  // At run time cel-go reports a failed dispatch as plain `no such overload`.
  const message = phase === 'evaluate' && reason === 'no_such_overload' ? 'no such overload' : celGoMessage(text)
  return { message, reason }
}

/**
 * Turns anything thrown while compiling or evaluating CEL into a {@link ConditionError} with a
 * one-line message (no source excerpt) and a stable snake_case `reason`: `parse_error` and
 * `type_error` at compile time; `no_such_key`, `no_such_overload`, `division_by_zero`, ... or
 * `evaluation_error` at evaluation time.
 */
export function toConditionError(err: unknown, phase: 'compile' | 'evaluate'): ConditionError {
  if (err instanceof ConditionError) return err
  const { message, reason } = describe(err, phase)
  return new ConditionError(message, { reason, cause: err })
}

/**
 * An evaluation failure as a plain value: the message and reason of the {@link ConditionError} it
 * stands for, without building one. The engine swallows most failures into `evaluationErrors`
 * (a failed condition is "not met"), so it never needs the error object or its stack trace;
 * {@link CelFailure.toError} makes the real error where a caller can see it.
 */
export class CelFailure {
  private constructor(
    /** cel-go's wording, e.g. `no such key: x`; identical to the ConditionError's message. */
    readonly message: string,
    /** The ConditionError's `reason` (`no_such_key`, `evaluation_error`, ...). */
    readonly reason: string,
    /** What was thrown (a library error, or a ConditionError without a stack trace). */
    readonly cause: unknown,
  ) {}

  /** The failure of anything thrown while evaluating. */
  static of(err: unknown): CelFailure {
    if (err instanceof ConditionError) return new CelFailure(err.message, err.reason, err)
    const { message, reason } = describe(err, 'evaluate')
    return new CelFailure(message, reason, err)
  }

  /** The library's failure for a key missing from a map (`no such key: k`), described without an error. */
  static noSuchKey(key: string): CelFailure {
    return Object.freeze(new CelFailure(celGoMessage(`No such key: ${key}`), 'no_such_key', undefined))
  }

  /** The ConditionError a caller sees: same message and reason, with a stack trace from here. */
  toError(): ConditionError {
    const cause = this.cause instanceof ConditionError ? this.cause.cause : this.cause
    return new ConditionError(this.message, { reason: this.reason, cause })
  }
}
