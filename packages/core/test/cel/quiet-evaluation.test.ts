import { afterEach, describe, expect, it } from 'vitest'
import { ConditionError } from '../../src/errors.js'
import { compileCel } from '../../src/cel/index.js'
import { CelFailure } from '../../src/cel/failure.js'
import { compileCelProgram, evaluateQuietly } from '../../src/cel/program.js'
import type { CelActivation } from '../../src/cel/types.js'
import { activation } from './activation.js'

/** Expressions that fail at run time, one per failure kind (library errors and our own ConditionErrors). */
const FAILING: ReadonlyArray<[expr: string, reason: string]> = [
  ['R.attr.missing == "x"', 'no_such_key'],
  ['R.attr.missing.deeper == "x" || false', 'no_such_key'],
  ['R.attr.n + "x" == "1x"', 'no_such_overload'],
  ['R.attr.n / 0 == 1', 'division_by_zero'],
  ['R.attr.list[5] == 1', 'index_out_of_bounds'],
  ['R.attr.list.all(x, x.y == 1)', 'no_such_key'],
  ['timestamp(R.attr.s) > now()', 'invalid_argument'],
  ['V.failed == 1', 'condition_error'],
]

/** A variables object whose `failed` variable throws, as the engine's failed variables do. */
function withFailedVariable(): CelActivation {
  const variables: Record<string, unknown> = {}
  Object.defineProperty(variables, 'failed', {
    get: () => {
      throw new ConditionError("undefined field 'failed'")
    },
  })
  return activation({ resource: { attr: { n: 1n, list: [{ z: 1n }], s: 'not a time' } }, variables })
}

function thrown(run: () => unknown): ConditionError {
  try {
    run()
  } catch (err) {
    expect(err).toBeInstanceOf(ConditionError)
    return err as ConditionError
  }
  throw new Error('expected a ConditionError')
}

describe('quiet evaluation (the engine path)', () => {
  const limit = Error.stackTraceLimit
  afterEach(() => {
    Error.stackTraceLimit = limit
  })

  it.each(FAILING)('%s: the failure value carries exactly the message and reason evaluate() throws', (expr, reason) => {
    for (const fastPath of [true, false]) {
      const program = compileCelProgram(expr, { fastPath })
      const failure = evaluateQuietly(program, withFailedVariable())
      expect(failure).toBeInstanceOf(CelFailure)
      const err = thrown(() => program.evaluate(withFailedVariable()))
      expect((failure as CelFailure).message).toBe(err.message)
      expect((failure as CelFailure).reason).toBe(reason)
      expect(err.reason).toBe(reason)
    }
  })

  it('returns values unchanged, including values a failure could be confused with', () => {
    const a = activation({ resource: { attr: { n: 2n, err: { message: 'x', reason: 'y' } } } })
    expect(evaluateQuietly(compileCel('R.attr.n * 2'), a)).toBe(4n)
    expect(evaluateQuietly(compileCel('R.attr.err'), a)).toEqual({ message: 'x', reason: 'y' })
    expect(evaluateQuietly(compileCel('R.attr.n == 2.0'), a)).toBe(true)
  })

  it('evaluate() still throws a ConditionError with a stack trace that callers can read', () => {
    // Decided by the fast path (no library error behind it) and by the library (kept as the cause).
    const fast = thrown(() => compileCel('R.attr.missing == 1').evaluate(activation()))
    expect(fast.message).toBe('no such key: missing')
    expect(fast.reason).toBe('no_such_key')
    expect(fast.stack).toContain('quiet-evaluation.test.ts')
    // The trace starts where the error was made, below the error classes' constructors.
    expect(fast.stack?.split('\n')[1]).not.toMatch(/errors\.[jt]s/)
    expect(fast.stack?.split('\n')[1]).toMatch(/failure\.[jt]s/)
    const library = thrown(() => compileCel('R.attr.missing.exists(x, x == 1)').evaluate(activation()))
    expect(library.message).toBe('no such key: missing')
    expect(library.stack).toContain('quiet-evaluation.test.ts')
    expect(library.cause).toBeInstanceOf(Error)
  })

  it('a ConditionError thrown inside evaluation reaches the caller with its message, reason and cause', () => {
    const err = thrown(() => compileCel('V.failed == 1').evaluate(withFailedVariable()))
    expect(err.message).toBe("undefined field 'failed'")
    expect(err.reason).toBe('condition_error')
    expect(err.stack).toContain('quiet-evaluation.test.ts')
  })

  it('restores the stack trace limit after success, failure and nested evaluation', () => {
    Error.stackTraceLimit = 17
    evaluateQuietly(compileCel('R.attr.n == 1'), activation({ resource: { attr: { n: 1 } } }))
    expect(Error.stackTraceLimit).toBe(17)
    evaluateQuietly(compileCel('R.attr.missing == 1'), activation())
    expect(Error.stackTraceLimit).toBe(17)
    const inner = compileCel('R.attr.missing == 1')
    const variables: Record<string, unknown> = {}
    let limitInside: number | undefined
    Object.defineProperty(variables, 'lazy', {
      get: () => {
        limitInside = Error.stackTraceLimit
        return evaluateQuietly(inner, activation()) instanceof CelFailure
      },
    })
    // The library's run pauses stack capture (the fast path builds no errors and needs no pause).
    expect(evaluateQuietly(compileCelProgram('V.lazy == true', { fastPath: false }), activation({ variables }))).toBe(true)
    expect(limitInside).toBe(0)
    expect(Error.stackTraceLimit).toBe(17)
    expect(() => compileCel('R.attr.missing == 1').evaluate(activation())).toThrow(ConditionError)
    expect(Error.stackTraceLimit).toBe(17)
  })

  it('keeps working, with stacks left alone, when Error.stackTraceLimit is read-only', () => {
    const original = Object.getOwnPropertyDescriptor(Error, 'stackTraceLimit')!
    Object.defineProperty(Error, 'stackTraceLimit', { value: 9, writable: false, configurable: true })
    try {
      const failure = evaluateQuietly(compileCel('R.attr.missing == 1'), activation())
      expect(failure).toBeInstanceOf(CelFailure)
      expect((failure as CelFailure).message).toBe('no such key: missing')
      expect(evaluateQuietly(compileCel('R.attr.n == 1'), activation({ resource: { attr: { n: 1 } } }))).toBe(true)
      expect(Error.stackTraceLimit).toBe(9)
    } finally {
      Object.defineProperty(Error, 'stackTraceLimit', original)
    }
  })
})
