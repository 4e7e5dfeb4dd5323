import { describe, expect, it } from 'vitest'
import { ConditionError } from '../../src/errors.js'
import { compileCel } from '../../src/cel/index.js'
import { activation } from './activation.js'
import { FIXTURE, REJECTED_EXPRESSIONS, TRUE_EXPRESSIONS } from './corpus.js'

const NOW = new Date('2021-04-22T15:05:20.021Z')
const A = activation({
  now: NOW,
  principal: { attr: structuredClone(FIXTURE.principalAttr) },
  resource: { attr: structuredClone(FIXTURE.resourceAttr) },
})

function run(expr: string): unknown {
  return compileCel(expr).evaluate(A)
}

function fails(expr: string): ConditionError {
  try {
    compileCel(expr).evaluate(A)
  } catch (err) {
    expect(err).toBeInstanceOf(ConditionError)
    return err as ConditionError
  }
  throw new Error(`expected ${expr} to fail`)
}

/** Every expression of the corpus group must evaluate to true. */
function allTrue(name: string): void {
  const expressions = TRUE_EXPRESSIONS[name]
  if (expressions === undefined) throw new Error(`no corpus group ${name}`)
  describe(name, () => {
    for (const expr of expressions) it(expr, () => expect(run(expr)).toBe(true))
  })
}

allTrue('numeric semantics (JSON numbers are doubles; dyn values compare across kinds)')

describe('compile-time rejections (cel-go checker)', () => {
  for (const expr of REJECTED_EXPRESSIONS) {
    it(expr, () => expect(() => compileCel(expr)).toThrow(ConditionError))
  }
})

describe('presence on lists (cel-go: an error, not "absent")', () => {
  it('has() and .? on a list fail', () => {
    expect(fails('has(R.attr.tags.x)').message).toBe("unsupported index type 'string' in list")
    expect(fails('R.attr.?tags.x.hasValue()').message).toBe("unsupported index type 'string' in list")
  })
})

describe('numeric errors', () => {
  it('int arithmetic overflows and divides by zero like cel-go', () => {
    expect(fails('9223372036854775807 + 1 == 0').reason).toBe('numeric_overflow')
    expect(fails('1 / 0 == 0').message).toBe('division by zero')
    expect(fails('1 % 0 == 0').message).toBe('modulo by zero')
  })
  it('double and int do not mix in arithmetic (cel-go: no such overload)', () => {
    const err = fails('P.attr.n + 1 > 0')
    expect(err.reason).toBe('no_such_overload')
    expect(err.message).toBe('no such overload')
    // `dyn + int` is typed int, so comparing it with a double literal is a compile error, as in cel-go.
    expect(() => compileCel('P.attr.n + 1 == 6.0')).toThrow(ConditionError)
  })
  it('known gap: an int literal in a literal list of doubles is rejected at compile time (cel-go: true)', () => {
    // Attribute lists are dyn and do compare across kinds (`5 in P.attr.nums` above).
    expect(fails('1 in [1.0, 2.0]').reason).toBe('type_error')
  })
  it('reports a missing key as cel-go does', () => {
    expect(fails('R.attr.nope == 1').message).toBe('no such key: nope')
  })
})

allTrue('has() and null')

allTrue('Cerbos list functions (global and member forms, deprecated spellings)')

allTrue('inIPAddrRange')

describe('inIPAddrRange errors', () => {
  it('rejects a bad address or range', () => {
    expect(fails('"10.0.0.300".inIPAddrRange("10.0.0.0/8")').message).toBe('invalid IP address: 10.0.0.300')
    expect(fails('"10.0.0.1".inIPAddrRange("10.0.0.0/33")').message).toBe('invalid CIDR address: 10.0.0.0/33')
  })
})

allTrue('hierarchy')

allTrue('now, timeSince, timestamps and durations')

describe('timestamp errors', () => {
  it('rejects an unknown time zone', () => {
    expect(fails('now().getHours("Mars/Base") == 1').reason).toBe('invalid_argument')
  })
  it('accepts only RFC 3339 text, as cel-go does', () => {
    const a = activation({ resource: { attr: { t: '2021-04-20 10:05:20Z', ok: '2021-04-20t10:05:20.123456789z' } } })
    expect(compileCel('timestamp(R.attr.ok) == timestamp("2021-04-20T10:05:20.123Z")').evaluate(a)).toBe(true)
    expect(() => compileCel('timestamp(R.attr.t) == now()').evaluate(a)).toThrow(/invalid RFC 3339 timestamp/)
    expect(() => compileCel('timestamp(253402300800) == now()').evaluate(a)).toThrow('timestamp out of range')
  })
  it('rejects invalid timestamp and duration literals at compile time, as Cerbos does', () => {
    expect(() => compileCel('now() > timestamp("yesterday")')).toThrow(ConditionError)
    expect(() => compileCel('now() - timestamp("2021-01-01T00:00:00Z") > duration("1 day")')).toThrow(/invalid duration literal/)
    expect(() => compileCel('duration("1h30m") > duration("-1.5s")')).not.toThrow()
  })
})

allTrue('strings')

describe('regex (RE2)', () => {
  allTrue('matches and regex.*')

  it('matches a catastrophic-backtracking pattern in linear time and returns the right value', () => {
    const a = activation({ resource: { attr: { s: `${'a'.repeat(5000)}!` } } })
    expect(compileCel('R.attr.s.matches("^(a+)+$")').evaluate(a)).toBe(false)
    expect(compileCel('R.attr.s.matches("(a+)+!$")').evaluate(a)).toBe(true)
    expect(compileCel('R.attr.s.matches("(x+x+)+y")').evaluate(a)).toBe(false)
  })

  it('rejects an invalid regex literal at compile time and a dynamic one at evaluation', () => {
    expect(() => compileCel('R.attr.s.matches("(")')).toThrow(ConditionError)
    const a = activation({ resource: { attr: { s: 'x', re: '(' } } })
    expect(() => compileCel('R.attr.s.matches(R.attr.re)').evaluate(a)).toThrow(/invalid regular expression/)
  })
})

allTrue('lists extension and macros')

allTrue('two-variable comprehensions')

describe('path errors', () => {
  it('reports a bad glob and an impossible relative path as Cerbos does', () => {
    expect(fails('pathMatch("a", "[")').message).toBe('failed to match pattern "[" on path "a": syntax error in pattern')
    expect(fails('relPath("a", "/b") == ""').message).toBe("failed to determine relative path of /b: Rel: can't make /b relative to a")
  })
})

describe('resource limits', () => {
  it('lists.range() refuses to build a list from a huge request-controlled size (fails closed)', () => {
    const a = activation({ resource: { attr: { n: 1e12 } } })
    expect(() => compileCel('lists.range(int(R.attr.n)).size() > 0').evaluate(a)).toThrow(/exceeds the limit/)
  })
})

describe('comprehension errors', () => {
  it('all() is false when any element is false even if another errors', () => {
    expect(run('[1, 0].all(i, v, 1 / v > 0 && false)')).toBe(false)
    expect(fails('[0].all(i, v, 1 / v > 0)').message).toBe('division by zero')
  })
  it('exists() is true when any element is true even if another errors', () => {
    expect(run('[0, 1].exists(i, v, 1 / v == 1)')).toBe(true)
  })
})

allTrue('sets, math, encoders')

allTrue('network extension')

describe('network errors', () => {
  it('rejects zones and dotted IPv4 inside IPv6 in ip() and cidr()', () => {
    expect(fails('ip("fe80::1%en0") == ip("::1")').reason).toBe('invalid_argument')
    expect(fails('ip("::ffff:192.168.0.1") == ip("::1")').reason).toBe('invalid_argument')
    expect(fails('cidr("192.168.0.0/") == cidr("::/0")').reason).toBe('invalid_argument')
  })
})

allTrue('SPIFFE')

describe('SPIFFE errors', () => {
  it('rejects malformed IDs and trust domains', () => {
    for (const bad of ['spiffe://Example.org/a', 'https://example.org/a', 'spiffe://example.org/a/', 'spiffe://example.org/../a', 'spiffe://example.org//a']) {
      expect(fails(`spiffeID("${bad}").path() == ""`).reason, bad).toBe('invalid_argument')
    }
    expect(fails('spiffeTrustDomain("Bad Domain").name() == ""').reason).toBe('invalid_argument')
    expect(fails('spiffeMatchAny().matchesID("not-an-id")').reason).toBe('invalid_argument')
  })
})

allTrue('optional helpers')
allTrue('paths')
