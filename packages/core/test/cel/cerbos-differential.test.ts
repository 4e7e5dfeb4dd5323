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

/** One condition case: expression, P.attr, R.attr. */
type AttrCase = readonly [expr: string, principalAttr: Attrs, resourceAttr: Attrs]

/**
 * The cases where our outcome differs from Cerbos's (`cerbos[i][0]` answers `cases[i]`), described
 * for the failure message, each once.
 */
function disagreementsWith(cerbos: readonly Outcome[][], cases: readonly AttrCase[]): string[] {
  const found = new Set<string>()
  cases.forEach(([expr, p, r], i) => {
    const theirs = cerbos[i]![0]
    const ours = ourOutcome(expr, p, r)
    if (theirs !== ours) found.add(`${expr} with P.attr=${JSON.stringify(p)} R.attr=${JSON.stringify(r)}: cerbos ${theirs}, ours ${ours}`)
  })
  return [...found]
}

function requestFor(principalAttr: Attrs, resourceAttr: Attrs): unknown {
  return {
    principal: { id: 'alice', roles: ['user'], attr: principalAttr, policyVersion: 'default', scope: '' },
    resource: { kind: 'doc', id: 'd1', attr: resourceAttr, policyVersion: 'default', scope: '' },
  }
}

/** What the Cerbos REPL prints for each expression (no attributes), or `error` where it fails. */
async function cerbosPrints(expressions: string[]): Promise<string[]> {
  const [blocks] = await replBlocks([{ request: requestFor({}, {}), expressions }])
  return blocks!.map((b) => {
    const text = b.trim()
    return text.startsWith('_ = ') ? text.slice(4) : 'error'
  })
}

/** `expression: cerbos X, ours Y` for each expression whose printed values differ. */
function printedDisagreements(expressions: readonly string[], theirs: readonly string[], ours: readonly string[]): string[] {
  return expressions.map((e, i) => `${e}: cerbos ${theirs[i]}, ours ${ours[i]}`).filter((_, i) => theirs[i] !== ours[i])
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

// Function-heavy conditions over string, list and number attributes.
const funcValue = fc.oneof(
  fc.constantFrom('a,b', 'Hello', '', 'a.b.c', '2021-04-20T10:05:20Z', '2021-04-20T10:05:20.5+05:30', '1h30m', '10.0.0.1', 'MiXeD'),
  fc.constantFrom(['a', 'b'], [1, 2, 3], [], ['a.b', 'a'], [1.5, 'a']),
  fc.constantFrom(0, 3, -1.5),
)
const funcAttrs = fc.record({ x: funcValue, y: funcValue })
const literal = fc.constantFrom('"a"', '"Hello"', '""', '"a.b"', '1', '2.0', '[]', '["a"]')
const funcCondition = fc.oneof(
  fc.tuple(fc.constantFrom('startsWith', 'endsWith', 'contains'), literal).map(([f, l]) => `R.attr.x.${f}(${l})`),
  fc.constantFrom('^a', 'b$', '(?i)hello', '[0-9]+', '^$').map((re) => `R.attr.x.matches("${re}")`),
  fc.tuple(fc.constantFrom('size(R.attr.x)', 'R.attr.x.size()', 'R.attr.x.split(",").size()', 'R.attr.x.indexOf("b")'), fc.constantFrom('0', '1', '2', '3')).map(
    ([e, n]) => `${e} == ${n}`,
  ),
  literal.map((l) => `R.attr.x.lowerAscii() == ${l} || R.attr.x.upperAscii() == ${l}`),
  literal.map((l) => `${l} in R.attr.x`),
  fc.constantFrom(
    'R.attr.x.exists(e, e == "a")',
    'R.attr.x.all(e, e > 0)',
    'R.attr.x.filter(e, e != "a").size() == 1',
    'R.attr.x.map(e, e).size() == 2',
    'R.attr.x.exists_one(e, e == 1)',
    'R.attr.x.intersect(R.attr.y).size() > 0',
    'R.attr.x.except(["a"]) == ["b"]',
    'hasIntersection(R.attr.x, R.attr.y)',
    'R.attr.x.isSubset(R.attr.y)',
    'hierarchy(R.attr.x).ancestorOf(hierarchy(R.attr.y))',
    'hierarchy(R.attr.x).size() == 3',
    'timestamp(R.attr.x).getHours() == 10',
    'timestamp(R.attr.x).getHours("+05:30") == 10',
    'timestamp(R.attr.x).getDayOfWeek("Europe/London") == 2',
    'timestamp(R.attr.x) < timestamp(R.attr.y)',
    'duration(R.attr.x) > duration("1h")',
    'R.attr.x.inIPAddrRange("10.0.0.0/8")',
    'int(R.attr.x) > 0',
    'double(R.attr.x) > 0.0',
    'string(R.attr.x) == "3"',
    '"%s".format([R.attr.x]) == "a,b"',
    'R.attr.x.charAt(1) == "i"',
    'R.attr.x.substring(1) == "ello"',
    'R.attr.x.replace("a", "b") == "b,b"',
    'R.attr.x + R.attr.y == "a,ba,b"',
    'R.attr.x > R.attr.y',
    'R.attr.x == R.attr.y',
    'has(R.attr.x.a)',
    'R.attr.x.sort() == R.attr.x',
    'math.greatest(R.attr.x) == 3',
  ),
)
const funcCases = fc.sample(fc.tuple(funcCondition, funcAttrs), { numRuns: 500, seed: 7 })

// Operators applied to dyn attribute values of every JSON kind.
const dynValue = fc.constantFrom<unknown>('a', '', 0, 1, 2.5, -1, true, false, null, [1, 'a'], [], ['x'], { a: 1 }, {}, { b: { c: 'd' } })
const dynExpression = fc.constantFrom(
  'R.attr.a[R.attr.b] == 1',
  'R.attr.a[0] == 1',
  'R.attr.a[1.0] == "a"',
  'R.attr.a["a"] == 1',
  '{"a": 1, "b": 2}[R.attr.a] == 1',
  '[5, 6][R.attr.a] == 6',
  'size(R.attr.a) == 1',
  'R.attr.a.size() == 2',
  'type(R.attr.a) == list',
  'type(R.attr.a) == map',
  'type(R.attr.a) == double',
  'type(R.attr.a) == null_type',
  'R.attr.a + R.attr.b == R.attr.a',
  'R.attr.a * 2.0 == 5.0',
  'R.attr.a - 1.0 < 0.0',
  '-R.attr.a == -1.0',
  '!R.attr.a',
  'R.attr.a ? true : false',
  'R.attr.a == R.attr.b',
  'R.attr.a != R.attr.b',
  'R.attr.a < R.attr.b',
  'R.attr.a in R.attr.b',
  'has(R.attr.a.b)',
  'has(R.attr.a.b.c)',
  'R.attr.a.b == R.attr.b',
  'int(R.attr.a) == 1',
  'uint(R.attr.a) == 1u',
  'string(R.attr.a) == "1"',
  'double(R.attr.a) == 1.0',
  'bool(R.attr.a)',
  'dyn(R.attr.a) == 1',
  'R.attr.a == 1 || R.attr.b == 1',
  'R.attr.a == 1 && R.attr.b == 1',
  'R.attr.a.exists(x, x == 1)',
  'R.attr.a.all(k, k != "")',
  'R.attr.a.map(x, x) == R.attr.a',
  'R.attr.a == []',
  'R.attr.a == {}',
  'R.attr.a == null',
  'R.attr.a % 2.0 == 0.0',
  'R.attr.a / 0.0 > 1.0',
  'R.attr.?a.orValue(1) == 1',
  'R.attr.?a.b.orValue(1) == 1',
)
const dynCases = fc.sample(fc.tuple(dynExpression, fc.record({ a: dynValue, b: dynValue })), { numRuns: 500, seed: 11 })

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
  let funcOutcomes: Outcome[][]
  let dynOutcomes: Outcome[][]

  beforeAll(async () => {
    const fixture: ReplBatch = {
      request: requestFor(structuredClone(FIXTURE.principalAttr), structuredClone(FIXTURE.resourceAttr)),
      expressions: [...corpus.map((c) => c.expr), ...REJECTED],
    }
    const random: ReplBatch[] = randomCases.map(([expr, p, r]) => ({ request: requestFor(p, r), expressions: [expr] }))
    const funcs: ReplBatch[] = funcCases.map(([expr, r]) => ({ request: requestFor({}, r), expressions: [expr] }))
    const dyns: ReplBatch[] = dynCases.map(([expr, r]) => ({ request: requestFor({}, r), expressions: [expr] }))
    const [fixtureOutcomes, ...rest] = await runInCerbosRepl([fixture, ...random, ...funcs, ...dyns])
    corpusOutcomes = fixtureOutcomes!.slice(0, corpus.length)
    rejectedOutcomes = fixtureOutcomes!.slice(corpus.length)
    randomOutcomes = rest.slice(0, random.length)
    funcOutcomes = rest.slice(random.length, random.length + funcs.length)
    dynOutcomes = rest.slice(random.length + funcs.length)
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
    expect(disagreementsWith(randomOutcomes, randomCases)).toEqual([])
  })

  it('gives the same outcome on random function calls over random attributes', () => {
    expect(disagreementsWith(funcOutcomes, funcCases.map(([expr, r]) => [expr, {}, r] as const))).toEqual([])
    // The sample must exercise every outcome, not just errors.
    const counts = { true: 0, false: 0, error: 0, value: 0 }
    for (const [o] of funcOutcomes) counts[o!]++
    expect(counts.true).toBeGreaterThan(10)
    expect(counts.false).toBeGreaterThan(50)
  })

  it('gives the same outcome for operators on dyn attribute values of every JSON kind', () => {
    expect(disagreementsWith(dynOutcomes, dynCases.map(([expr, r]) => [expr, {}, r] as const))).toEqual([])
  })

  it('computes the same path strings as Cerbos (UNIX and Windows paths, globs)', async () => {
    const paths = ['/a/b/c.txt', 'a/b', '/', '', '.', '..', 'a/../../b', '/a/./b/', 'C:\\foo\\bar.txt', '\\\\host\\share\\dir', 'C:', '/a/b.tar.gz', 'a\\b']
    const patterns = ['/a/*', '*.txt', '/a/b/c.???', '[', '/a/[^b]*', 'a/\\*', '*', '/a/b/*.txt', 'C:\\foo\\*.txt']
    const lit = (v: string): string => JSON.stringify(v)
    const expressions: string[] = []
    for (const x of paths) {
      expressions.push(`basePath(${lit(x)})`, `dirPath(${lit(x)})`, `extPath(${lit(x)})`, `volumeName(${lit(x)})`)
      for (const y of paths.slice(0, 7)) expressions.push(`relPath(${lit(y)}, ${lit(x)})`, `joinPath([${lit(y)}, ${lit(x)}])`, `string(pathHasPrefix(${lit(x)}, ${lit(y)}))`)
      for (const g of patterns) expressions.push(`string(pathMatch(${lit(x)}, ${lit(g)}))`)
    }
    const theirs = await cerbosPrints(expressions)
    const ours = expressions.map((e) => {
      try {
        return JSON.stringify(compileCel(e).evaluate(activation()))
      } catch {
        return 'error'
      }
    })
    expect(printedDisagreements(expressions, theirs, ours)).toEqual([])
    expect(theirs.filter((t) => t === 'error').length).toBeLessThan(expressions.length / 2)
  })

  it('computes the same timestamp fields, durations and formats as Cerbos', async () => {
    const stamps = ['2021-04-20T10:05:20.021-05:00', '2021-12-31T23:30:00Z', '2024-02-29T00:00:00+14:00', '1999-01-01T12:00:00.999Z', '2021-03-28T01:30:00Z']
    const zones = ['', '"UTC"', '"-05:00"', '"+05:30"', '"America/New_York"', '"Europe/London"', '"Asia/Kolkata"', '"NZ"', '"Mars/Base"']
    const getters = ['getFullYear', 'getMonth', 'getDate', 'getDayOfMonth', 'getDayOfWeek', 'getDayOfYear', 'getHours', 'getMinutes', 'getSeconds', 'getMilliseconds']
    const expressions: string[] = []
    for (const ts of stamps) {
      for (const zone of zones) for (const g of getters) expressions.push(`timestamp("${ts}").${g}(${zone})`)
      // A computed timestamp prints in UTC here but keeps the written offset in Go (known difference).
      expressions.push(`string(timestamp("${ts}"))`, `timestamp("${ts}") + duration("90m") == timestamp("${ts}") + duration("1.5h")`, `int(timestamp("${ts}"))`)
    }
    for (const d of ['1h', '90m', '1.5h', '-30s', '3750s', '1ms', '2h45m30.5s']) {
      expressions.push(`string(duration("${d}"))`)
      for (const g of ['getHours', 'getMinutes', 'getSeconds', 'getMilliseconds']) expressions.push(`duration("${d}").${g}()`)
    }
    for (const f of ['%s', '%d', '%.2f', '%e', '%x', '%o', '%b']) {
      for (const v of ['1', '2.5', '"a"', 'true', '[1, "a"]', '{"k": 1}', '-7', 'null', '2500000.0', '1e21', '0.00001']) {
        expressions.push(`"${f}".format([${v}])`)
      }
    }
    for (const v of ['2.5', '1234567.0', '100000.0', '123456.7', '0.00001', '0.0001', '-0.0', '1e300', '5e-324', '2500000.0', '1u', '-3', 'true', 'b"ok"']) {
      expressions.push(`string(${v})`)
    }
    const theirs = await cerbosPrints(expressions)
    const ours = expressions.map((e) => {
      try {
        const v = compileCel(e).evaluate(activation())
        return typeof v === 'bigint' ? v.toString() : JSON.stringify(v)
      } catch {
        return 'error'
      }
    })
    expect(printedDisagreements(expressions, theirs, ours)).toEqual([])
  })
})
