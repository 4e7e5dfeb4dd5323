/**
 * Runs every Cerbos `cases/cel_eval` case (one condition block, one request, one expected boolean)
 * against the CEL layer. A condition expression that fails to evaluate counts as false, as in
 * Cerbos. Cases with `all.of` and `want: true` are also checked expression by expression
 * (`file#index`). Known failures: test/conformance/known-failures-cel.md, section "cel_eval".
 */
import { fileURLToPath } from 'node:url'
import { afterAll, describe, expect, it } from 'vitest'
import { compileCel, type CelActivation } from '../../packages/core/src/cel/index.js'
import {
  readCelEvalCases,
  readKnownFailures,
  readStoreExpressions,
  type CelEvalCase,
  type MatchBlock,
} from '../../packages/core/test/cel/conformance-support.js'

const KNOWN = readKnownFailures(fileURLToPath(new URL('./known-failures-cel.md', import.meta.url)), 'cel_eval')
const NOW = new Date('2021-04-22T10:05:20.021-05:00')

function activationFor(c: CelEvalCase): CelActivation {
  const { principal, resource, auxData } = c.request
  return {
    request: {
      principal: { ...principal, attr: principal.attr ?? {}, policyVersion: principal.policyVersion ?? '', scope: principal.scope ?? '' },
      resource: { ...resource, attr: resource.attr ?? {}, policyVersion: resource.policyVersion ?? '', scope: resource.scope ?? '' },
      auxData: { jwt: auxData?.jwt ?? {} },
    },
    variables: {},
    constants: {},
    globals: {},
    runtime: { effectiveDerivedRoles: [] },
    now: NOW,
  }
}

/** Cerbos semantics: an expression that fails (compile or evaluation) is false. */
function exprHolds(expr: string, a: CelActivation): boolean {
  try {
    return compileCel(expr).evaluate(a) === true
  } catch {
    return false
  }
}

function holds(block: MatchBlock, a: CelActivation): boolean {
  if ('expr' in block) return exprHolds(block.expr, a)
  if ('all' in block) return block.all.of.every((b) => holds(b, a))
  if ('any' in block) return block.any.of.some((b) => holds(b, a))
  return !block.none.of.some((b) => holds(b, a))
}

const cases = readCelEvalCases()
const tally = { passed: 0, failed: 0 }
const record = (ok: boolean): boolean => (ok ? tally.passed++ : tally.failed++, ok)

describe('Cerbos cel_eval cases', () => {
  afterAll(() => {
    console.log(`cel_eval: ${tally.passed}/${tally.passed + tally.failed} checks pass (${KNOWN.size} known failures listed)`)
  })

  it('has the corpus', () => expect(cases.length).toBeGreaterThanOrEqual(17))

  for (const c of cases) {
    it(`${c.file} evaluates to ${c.want}`, () => {
      const ok = record(holds(c.condition, activationFor(c)) === c.want)
      expect(ok, KNOWN.get(c.file) ?? 'not a known failure').toBe(!KNOWN.has(c.file))
    })
    if (c.want && 'all' in c.condition) {
      c.condition.all.of.forEach((block, index) => {
        const id = `${c.file}#${index}`
        const label = 'expr' in block ? block.expr.trim().replace(/\s+/g, ' ') : JSON.stringify(block)
        it(`${id}: ${label}`, () => {
          const ok = record(holds(block, activationFor(c)))
          expect(ok, KNOWN.get(id) ?? 'not a known failure').toBe(!KNOWN.has(id))
        })
      })
    }
  }
})

describe('Cerbos store expressions', () => {
  const expressions = readStoreExpressions()

  it('finds the expressions of the store', () => expect(expressions.length).toBeGreaterThan(90))

  it('compiles every condition, variable and output expression', () => {
    const failures: string[] = []
    for (const { file, expr } of expressions) {
      try {
        compileCel(expr)
      } catch (err) {
        failures.push(`${file}: ${expr}: ${(err as Error).message}`)
      }
    }
    expect(failures).toEqual([])
  })
})
