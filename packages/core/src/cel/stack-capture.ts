/**
 * Switching V8's stack capture off while the CEL library evaluates for the engine. Capturing an Error's stack
 * trace costs microseconds; the CEL library throws an Error for every failed lookup (`no such
 * key`), and those failures never leave the engine (a failed condition is "not met"), so their
 * stacks are never read. Evaluation is synchronous, so the global limit is restored before any
 * other code runs.
 */

const NOT_PAUSED: unique symbol = Symbol('stack capture not paused')

/** The limit to restore, or NOT_PAUSED. */
export type StackCaptureToken = number | undefined | typeof NOT_PAUSED

/** Set once `Error.stackTraceLimit` proves read-only (frozen intrinsics): stacks are then left alone. */
let readOnly = false

/** Stops stack capture; pass the token to {@link resumeStackCapture} in a `finally`. */
export function pauseStackCapture(): StackCaptureToken {
  if (readOnly) return NOT_PAUSED
  const limit = Error.stackTraceLimit
  try {
    Error.stackTraceLimit = 0
  } catch {
    readOnly = true
    return NOT_PAUSED
  }
  return limit
}

/** Restores the limit {@link pauseStackCapture} replaced. */
export function resumeStackCapture(token: StackCaptureToken): void {
  if (token !== NOT_PAUSED) Error.stackTraceLimit = token as number
}
