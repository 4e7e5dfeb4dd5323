import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { format } from '../../src/cel/lib/strings.js'
import { ConditionError } from '../../src/errors.js'

const CONSUMING = new Set(['s', 'd', 'f', 'e', 'x', 'X', 'o', 'b'])

/**
 * The clause scan as it was written before (the regex), each clause then formatted on its own: the
 * hand-written scanner must split every template the same way, in the same order.
 */
function formatByRegex(template: string, args: readonly unknown[]): string {
  let next = 0
  return template.replace(/%(\.\d+)?([a-zA-Z%])?/g, (clause: string, _precision: unknown, verb: string | undefined) => {
    if (verb === undefined || !CONSUMING.has(verb)) return format(clause, [])
    if (next >= args.length) throw new ConditionError(`index ${next} out of range`)
    return format(clause, [args[next++]])
  })
}

function outcome(run: () => string): unknown {
  try {
    return { value: run() }
  } catch (err) {
    return { error: (err as Error).message }
  }
}

describe('string.format clause scanning', () => {
  it('splits templates exactly as the regex %(\\.\\d+)?([a-zA-Z%])? does', () => {
    const template = fc.string({ unit: fc.constantFrom('%', '.', '1', '2', '0', 's', 'd', 'f', 'e', 'x', 'X', 'q', 'a', ' ', 'é') , maxLength: 12 })
    const arg = fc.oneof(fc.bigInt({ min: -300n, max: 300n }), fc.double({ min: -1e3, max: 1e3, noNaN: true }), fc.string({ maxLength: 3 }), fc.boolean())
    fc.assert(
      fc.property(template, fc.array(arg, { maxLength: 4 }), (t, args) => {
        expect(outcome(() => format(t, args))).toEqual(outcome(() => formatByRegex(t, args)))
      }),
      { numRuns: 3000 },
    )
  })

  it('keeps text around clauses and reports the first bad clause', () => {
    expect(format('no clauses', [])).toBe('no clauses')
    expect(format('%s-%d|%.2f%%', ['a', 3n, 1.005])).toBe('a-3|1.00%')
    expect(() => format('%s %s', ['a'])).toThrow('index 1 out of range')
    expect(() => format('%.2 %q', [1])).toThrow('unrecognized formatting clause ""')
  })
})
