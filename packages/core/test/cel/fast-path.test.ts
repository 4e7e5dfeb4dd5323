import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { CelFailure } from '../../src/cel/failure.js'
import { compileCelProgram, evaluateQuietly } from '../../src/cel/program.js'
import { ConditionError } from '../../src/errors.js'
import { activation } from './activation.js'

/**
 * Outcome of an evaluation, comparable across the two evaluation routes: the value, or the error's
 * message and reason. The engine's route (evaluateQuietly) must give the same as evaluate().
 */
function outcome(expr: string, fastPath: boolean, a: ReturnType<typeof activation>): unknown {
  const program = compileCelProgram(expr, { fastPath })
  let thrown: unknown
  try {
    thrown = { value: program.evaluate(a) }
  } catch (err) {
    thrown = { error: (err as ConditionError).message, reason: (err as ConditionError).reason }
  }
  const quiet = evaluateQuietly(program, a)
  expect(quiet instanceof CelFailure ? { error: quiet.message, reason: quiet.reason } : { value: quiet }, `${expr} (quiet)`).toEqual(thrown)
  return thrown
}

/** Variables where `failed` throws on every read, as a variable that failed to evaluate does in the engine. */
function withFailed(variables: Record<string, unknown>): Record<string, unknown> {
  Object.defineProperty(variables, 'failed', {
    get: () => {
      throw new ConditionError("undefined field 'failed'")
    },
  })
  return variables
}

const attrValue = fc.oneof(
  fc.constantFrom('a', 'b', '', 'constructor', 'x.y'),
  fc.integer({ min: -3, max: 3 }),
  fc.constantFrom(0.5, 1.0, 2.0, Number.NaN),
  fc.boolean(),
  fc.constant(null),
  fc.constantFrom(['a', 'b'], [1, 2], [], ['a', 1]),
  fc.constantFrom({ a: 1 }, { b: 'a' }, {}),
)
const attrs = fc.dictionary(fc.constantFrom('a', 'b', 'c', 'constructor', 'toString'), attrValue, { maxKeys: 4 })

const path = fc.constantFrom(
  'R.attr.a',
  'R.attr.b',
  'P.attr.c',
  'request.resource.attr.a',
  'R.attr["b"]',
  'P.attr.constructor',
  'R.attr.toString',
  'R.attr.a.a',
  'P.id',
  'R.kind',
  'V.v',
  'V.failed',
)
const literal = fc.constantFrom('"a"', '""', '1', '-1', '2.0', '0.5', 'true', 'false', 'null', '1u', '[1, 2]', '["a"]', '{"a": 1}')
const operand = fc.oneof(path, literal)
const comparison = fc
  .tuple(operand, fc.constantFrom('==', '!=', '<', '<=', '>', '>=', 'in'), operand)
  .map(([l, op, r]) => `${l} ${op} ${r}`)
const expression: fc.Arbitrary<string> = fc.letrec<{ expr: string }>((tie) => ({
  expr: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    comparison,
    path,
    fc.constantFrom('has(R.attr.a)', 'has(R.attr.a.a)', 'has(P.attr.constructor)', 'has(request.resource.attr.b)', 'has(V.v.a)'),
    fc.tuple(tie('expr'), fc.constantFrom('&&', '||'), tie('expr')).map(([l, op, r]) => `(${l}) ${op} (${r})`),
    tie('expr').map((e) => `!(${e})`),
  ),
})).expr

function compiles(expr: string): boolean {
  try {
    compileCelProgram(expr, { fastPath: false })
    return true
  } catch {
    return false
  }
}

describe('fast path', () => {
  it('gives exactly the library result (value or error) on random expressions and attributes', () => {
    fc.assert(
      fc.property(expression, attrs, attrs, attrValue, (expr, resourceAttr, principalAttr, variable) => {
        fc.pre(compiles(expr))
        const a = activation({ resource: { attr: resourceAttr }, principal: { attr: principalAttr }, variables: withFailed({ v: variable }) })
        expect(outcome(expr, true, a)).toEqual(outcome(expr, false, a))
      }),
      { numRuns: 1500 },
    )
  })

  it('gives exactly the library result where only the first-evaluated path is checked ahead of the library', () => {
    // Shapes the fast path cannot take; a guard may answer a missing key on the path evaluated first.
    const shape = fc.constantFrom(
      (p: string) => `${p}.startsWith("a") ? 1 : 2`,
      (p: string) => `size(${p}) > 0`,
      (p: string) => `(${p} ? 1 : 2) == 1`,
      (p: string) => `${p} + 1 == 2`,
      (p: string) => `-${p} == 1`,
      (p: string) => `!${p}.startsWith("a")`,
      (p: string) => `${p}.exists(x, x == 1)`,
      (p: string) => `int(${p}) == 1`,
      (p: string, q: string) => `"a" + ${p} == ${q}`,
      (p: string, q: string) => `${p}.contains(${q})`,
      (p: string, q: string) => `hasIntersection(${p}, ${q})`,
      (p: string, q: string) => `${p}.matches("a") || ${q}`,
      (p: string, q: string) => `has(${p}.a) ? ${q} : 1`,
      (p: string, q: string) => `[${p}, ${q}].size() == 2`,
      (p: string, q: string) => `${p}[${q}] == 1`,
    )
    fc.assert(
      fc.property(shape, path, path, attrs, attrs, attrValue, (build, p, q, resourceAttr, principalAttr, variable) => {
        const expr = build(p, q)
        fc.pre(compiles(expr))
        const a = activation({ resource: { attr: resourceAttr }, principal: { attr: principalAttr }, variables: withFailed({ v: variable }) })
        expect(outcome(expr, true, a)).toEqual(outcome(expr, false, a))
      }),
      { numRuns: 1500 },
    )
  })

  it('gives exactly the library result for every operator, literal and attribute kind', () => {
    const values: unknown[] = ['a', '', 1, -1, 0, 2, 1.0, 0.5, 2.5, Number.NaN, true, false, null, ['a'], [1], {}, { a: 1 }]
    const literals = ['"a"', '""', '1', '-1', '0', '2', '1.0', '0.5', 'true', 'false', 'null', '1u', '[1]', '["a"]', '{"a": 1}']
    const ops = ['==', '!=', '<', '<=', '>', '>=', 'in']
    let compared = 0
    for (const value of values) {
      const a = activation({ resource: { attr: { a: value } } })
      for (const lit of literals) {
        for (const op of ops) {
          for (const expr of [`R.attr.a ${op} ${lit}`, `${lit} ${op} R.attr.a`, `!(R.attr.a ${op} ${lit}) || false`]) {
            if (!compiles(expr)) continue
            compared++
            expect(outcome(expr, true, a), `${expr} with a = ${JSON.stringify(value)}`).toEqual(outcome(expr, false, a))
          }
        }
      }
    }
    expect(compared).toBeGreaterThan(1000)
  })

  it('falls back to the library for errors and non-simple values', () => {
    const a = activation({ resource: { attr: { list: [1, 2], n: 1 } } })
    expect(outcome('R.attr.missing == 1', true, a)).toEqual({ error: 'no such key: missing', reason: 'no_such_key' })
    expect(outcome('R.attr.list == [1, 2]', true, a)).toEqual({ value: true })
    expect(outcome('R.attr.n == 1u', true, a)).toEqual({ value: true })
    expect(outcome('R.attr.missing == 1 || true', true, a)).toEqual({ value: true })
  })

  it('never reads inherited properties of a map', () => {
    const a = activation({ resource: { attr: {} } })
    expect(outcome('R.attr.constructor == null', true, a)).toEqual({ error: 'no such key: constructor', reason: 'no_such_key' })
    expect(outcome('"toString" in R.attr', true, a)).toEqual({ value: false })
  })
})
