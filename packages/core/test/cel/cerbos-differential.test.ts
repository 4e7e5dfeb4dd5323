/**
 * Differential test against the real Cerbos 0.55 PDP's CEL (`cerbos repl`): the feature corpus
 * (corpus.ts) and randomly generated conditions over random attributes must give the same outcome
 * (true / false / error) in both. Skipped only where the Cerbos binary cannot run (not Linux x64).
 */
import fc from 'fast-check'
import { beforeAll, describe, expect, it } from 'vitest'
import { compileCel } from '../../src/cel/index.js'
import { activation } from './activation.js'
import { cerbosAvailable, evaluationErrorMessage, replBlocks, runInCerbosRepl, type Outcome, type ReplBatch } from './cerbos-repl.js'
import { FIXTURE, REJECTED_EXPRESSIONS, TRUE_EXPRESSIONS } from './corpus.js'

type Attrs = Record<string, unknown>

function ourOutcome(expr: string, principalAttr: Attrs, resourceAttr: Attrs): Outcome {
  try {
    const value = compileCel(expr).evaluate(activation({ principal: { attr: principalAttr }, resource: { attr: resourceAttr } }))
    return value === true ? 'true' : value === false ? 'false' : 'value'
  } catch {
    return 'error'
  }
}

function requestFor(principalAttr: Attrs, resourceAttr: Attrs): unknown {
  return {
    principal: { id: 'alice', roles: ['user'], attr: principalAttr, policyVersion: 'default', scope: '' },
    resource: { kind: 'doc', id: 'd1', attr: resourceAttr, policyVersion: 'default', scope: '' },
  }
}

// now() and timeSince() read the clock, which differs between the two; JS-only helpers are excluded.
const corpus = Object.entries(TRUE_EXPRESSIONS).flatMap(([group, list]) =>
  list.filter((e) => !/now\(\)|timeSince/.test(e)).map((expr) => ({ group, expr })),
)

const REJECTED = REJECTED_EXPRESSIONS

const attrValue = fc.oneof(
  fc.constantFrom('a', 'b', '', 'constructor'),
  fc.integer({ min: -2, max: 2 }),
  fc.constantFrom(0.5, 1.5, 2.0),
  fc.boolean(),
  fc.constant(null),
  fc.constantFrom(['a', 'b'], [1, 2], [], ['a', 1]),
  fc.constantFrom({ a: 1 }, { b: 'a' }, {}),
)
const attrs = fc.dictionary(fc.constantFrom('a', 'b', 'c'), attrValue, { maxKeys: 3 })
const operand = fc.constantFrom('R.attr.a', 'R.attr.b', 'P.attr.c', 'R.attr["b"]', 'R.attr.a.a', '"a"', '1', '-1', '2.0', 'true', 'null', '1u', '["a"]', '[1, 2]', '{"a": 1}')
// Ordering on a `null` literal compiles in cel-go but not in the library (both fail at run time
// in a condition, but `x || null < 1` differs), so null literals only meet equality and `in`.
const comparison = fc
  .tuple(operand, fc.constantFrom('==', '!=', '<', '>=', 'in'), operand)
  .map(([l, op, r]) => `${l} ${(op === '<' || op === '>=') && (l === 'null' || r === 'null') ? '==' : op} ${r}`)
const condition = fc.oneof(
  comparison,
  fc.tuple(comparison, fc.constantFrom('&&', '||'), comparison).map(([l, op, r]) => `(${l}) ${op} (${r})`),
  fc.tuple(fc.constantFrom('has(R.attr.a)', '!has(P.attr.c)', 'size(R.attr) > 1', 'R.attr.a.startsWith("a")'), comparison).map(
    ([l, r]) => `${l} || ${r}`,
  ),
)
const randomCases = fc.sample(fc.tuple(condition, attrs, attrs), { numRuns: 400, seed: 20260423 })

/**
 * Run-time errors whose message Cerbos reports in `evaluationErrors`: the wording must match.
 * Attributes: n = 5 (double), l = [1], s = "x", m = {}.
 */
const ERROR_ATTRS = { n: 5, l: [1], s: 'x', m: {} }
const RUNTIME_ERRORS = [
  'P.attr.missing == 1',
  'P.attr.m.x.y == 1',
  'P.attr.n.x == 1',
  'P.attr.l[3] == 1',
  'int(P.attr.s) == 1',
  'timestamp(P.attr.s) == timestamp("2021-01-01T00:00:00Z")',
  'int(P.attr.n * 1e19) == 1',
  'P.attr.s.inIPAddrRange("10.0.0.0/8")',
  '1 / (P.attr.l.size() - 1) == 1',
  '"x".charAt(5) == ""',
  'P.attr.n + 1 > 0',
  'P.attr.l.all(x, x > "a")',
]

function ourErrorMessage(expr: string): string | undefined {
  try {
    compileCel(expr).evaluate(activation({ principal: { attr: structuredClone(ERROR_ATTRS) } }))
    return undefined
  } catch (err) {
    return (err as Error).message
  }
}

describe.skipIf(!cerbosAvailable())('CEL agrees with the Cerbos 0.55 REPL', () => {
  let corpusOutcomes: Outcome[]
  let rejectedOutcomes: Outcome[]
  let randomOutcomes: Outcome[][]

  beforeAll(async () => {
    const fixture: ReplBatch = {
      request: requestFor(structuredClone(FIXTURE.principalAttr), structuredClone(FIXTURE.resourceAttr)),
      expressions: [...corpus.map((c) => c.expr), ...REJECTED],
    }
    const random: ReplBatch[] = randomCases.map(([expr, p, r]) => ({ request: requestFor(p, r), expressions: [expr] }))
    const [fixtureOutcomes, ...rest] = await runInCerbosRepl([fixture, ...random])
    corpusOutcomes = fixtureOutcomes!.slice(0, corpus.length)
    rejectedOutcomes = fixtureOutcomes!.slice(corpus.length)
    randomOutcomes = rest
  }, 120_000)

  it('evaluates the feature corpus to true, as Cerbos does', () => {
    const disagreements = corpus
      .map((c, i) => ({ ...c, cerbos: corpusOutcomes[i] }))
      .filter((c) => c.cerbos !== 'true')
      .map((c) => `${c.group}: ${c.expr} → cerbos ${c.cerbos}`)
    expect(disagreements).toEqual([])
    expect(corpus.length).toBeGreaterThan(150)
  })

  it('rejects what Cerbos rejects at compile time', () => {
    expect(rejectedOutcomes).toEqual(REJECTED.map(() => 'error'))
    expect(REJECTED.map((e) => ourOutcome(e, {}, {}))).toEqual(REJECTED.map(() => 'error'))
  })

  it('words run-time errors as Cerbos does (they appear in evaluationErrors)', async () => {
    const [blocks] = await replBlocks([{ request: requestFor(structuredClone(ERROR_ATTRS), {}), expressions: RUNTIME_ERRORS }])
    const theirs = blocks!.map(evaluationErrorMessage)
    expect(theirs.every((m) => m !== undefined)).toBe(true)
    expect(RUNTIME_ERRORS.map(ourErrorMessage)).toEqual(theirs)
  })

  it('gives the same outcome on random conditions over random attributes', () => {
    const disagreements: string[] = []
    randomCases.forEach(([expr, p, r], i) => {
      const cerbos = randomOutcomes[i]![0]
      const ours = ourOutcome(expr, p, r)
      if (cerbos !== ours) disagreements.push(`${expr} with P.attr=${JSON.stringify(p)} R.attr=${JSON.stringify(r)}: cerbos ${cerbos}, ours ${ours}`)
    })
    expect(disagreements).toEqual([])
  })
})
