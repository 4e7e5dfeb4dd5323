import { describe, expect, it } from 'vitest'
import { ConditionError } from '../../src/errors.js'
import { compileCel } from '../../src/cel/index.js'
import { activation } from './activation.js'

const run = (expr: string, a = activation()): unknown => compileCel(expr).evaluate(a)

describe('compileCel', () => {
  it('keeps the source and evaluates against the Cerbos identifiers', () => {
    const program = compileCel('R.attr.owner == P.id')
    expect(program.source).toBe('R.attr.owner == P.id')
    expect(program.evaluate(activation({ resource: { attr: { owner: 'alice' } } }))).toBe(true)
    expect(program.evaluate(activation({ resource: { attr: { owner: 'bob' } } }))).toBe(false)
  })

  it('resolves request, P, R, V, C, G, runtime and their long names', () => {
    const a = activation({
      principal: { id: 'p1', scope: 'x.y' },
      resource: { kind: 'k', id: 'r1', policyVersion: '20210210' },
      variables: { v: 'var' },
      constants: { c: 'const' },
      globals: { g: 'glob' },
      effectiveDerivedRoles: ['owner'],
      jwt: { iss: 'cerbos' },
    })
    const expressions = [
      'request.principal.id == "p1" && P.id == "p1" && request.principal.scope == "x.y"',
      'request.resource.kind == "k" && R.id == "r1"',
      'V.v == "var" && variables.v == "var"',
      'C.c == "const" && constants.c == "const"',
      'G.g == "glob" && globals.g == "glob"',
      '"owner" in runtime.effectiveDerivedRoles && "owner" in runtime.effective_derived_roles',
      'request.auxData.jwt.iss == "cerbos" && request.aux_data.jwt.iss == "cerbos"',
      'R.policyVersion == "20210210" && R.policy_version == "20210210" && request.resource.policy_version == "20210210"',
    ]
    for (const expr of expressions) expect(run(expr, a), expr).toBe(true)
  })

  it('finds variable and constant references by walking the AST', () => {
    const program = compileCel('V.a && variables.b || V.c == C.x && constants.y > 1 && "V.fake" == "x" && has(V.d) && R.attr.V == 1')
    expect([...program.variableRefs].sort()).toEqual(['a', 'b', 'c', 'd'])
    expect([...program.constantRefs].sort()).toEqual(['x', 'y'])
  })

  it('does not count iteration variables that shadow V or C as references', () => {
    const program = compileCel('R.attr.items.exists(V, V.x == 1) && R.attr.m.all(k, C, C.y > 0) && V.real == 1 && cel.bind(C, C.init, C == 1)')
    expect([...program.variableRefs]).toEqual(['real'])
    expect([...program.constantRefs]).toEqual(['init'])
  })

  it('allows indexing an iteration variable named like a policy map', () => {
    expect(compileCel('R.attr.items.exists(V, V["x"] == 1)').evaluate(activation({ resource: { attr: { items: [{ x: 1 }] } } }))).toBe(true)
  })

  it('reads lazy getters on the variables object only when used', () => {
    let computed = 0
    const variables = {}
    Object.defineProperty(variables, 'lazy', {
      enumerable: true,
      get: () => {
        computed++
        return 42
      },
    })
    const a = activation({ variables })
    expect(compileCel('true || V.lazy == 42.0').evaluate(a)).toBe(true)
    expect(computed).toBe(0)
    expect(compileCel('V.lazy == 42.0').evaluate(a)).toBe(true)
    expect(computed).toBe(1)
  })

  it('throws ConditionError with a reason on parse errors and unknown identifiers', () => {
    for (const [expr, reason] of [
      ['R.attr.x ==', 'parse_error'],
      ['(1 + ', 'parse_error'],
      ['unknownIdent == 1', 'type_error'],
      ['C.foo > V["bar"]', 'type_error'],
      ['C["foo"] > 1', 'type_error'],
      ['globals["baz"] > 1', 'type_error'],
      ['1 + "a"', 'type_error'],
    ] as const) {
      let caught: unknown
      try {
        compileCel(expr)
      } catch (err) {
        caught = err
      }
      expect(caught, expr).toBeInstanceOf(ConditionError)
      expect((caught as ConditionError).code).toBe('ERR_AUTHZ_CONDITION_EVALUATION')
      expect((caught as ConditionError).reason, expr).toBe(reason)
      expect((caught as ConditionError).message).not.toContain('\n')
    }
  })

  it('words compile errors as cel-go does where Cerbos shows them', () => {
    expect(() => compileCel('wat')).toThrow("undeclared reference to 'wat' (in container '')")
    expect(() => compileCel('V["bar"] == 1')).toThrow("found no matching overload for '_[_]' applied to '(cerbos.Variables, string)'")
  })

  it('&& and || report the left error when neither side decides, as cel-go does', () => {
    const variables = {}
    Object.defineProperty(variables, 'eng', {
      get: () => {
        throw new ConditionError("undefined field 'eng'")
      },
    })
    const a = activation({ variables, principal: { attr: {} } })
    expect(() => run('V.eng && P.attr.org == "org-1"', a)).toThrow("undefined field 'eng'")
    expect(() => run('P.attr.org == "x" || V.eng', a)).toThrow('no such key: org')
    expect(run('V.eng && false', a)).toBe(false)
    expect(run('P.attr.org == "x" || true', a)).toBe(true)
    expect(() => run('true && P.attr.org == "x"', a)).toThrow('no such key: org')
    expect(() => run('1 == 1 && P.attr.org', a)).toThrow('no such key: org')
  })

  it('throws ConditionError with cel-go wording on evaluation errors', () => {
    const a = activation({ resource: { attr: { n: 1 } } })
    const failures = [
      ['R.attr.missing == 1', 'no such key: missing', 'no_such_key'],
      ['R.attr.n / 0.0 == 1.0 || 1 / (R.attr.n == 1.0 ? 0 : 1) == 1', 'division by zero', 'division_by_zero'],
    ] as const
    for (const [expr, message, reason] of failures) {
      let caught: unknown
      try {
        run(expr, a)
      } catch (err) {
        caught = err
      }
      expect(caught, expr).toBeInstanceOf(ConditionError)
      expect((caught as ConditionError).message).toBe(message)
      expect((caught as ConditionError).reason).toBe(reason)
    }
  })

  it('nested evaluation inside a lazy variable restores the outer activation', () => {
    const inner = compileCel('R.id')
    const outerActivation = activation({ resource: { id: 'outer' } })
    const otherActivation = activation({ resource: { id: 'other' } })
    const variables = {}
    Object.defineProperty(variables, 'otherId', { enumerable: true, get: () => inner.evaluate(otherActivation) })
    outerActivation.variables = variables
    expect(compileCel('V.otherId + "/" + R.id').evaluate(outerActivation)).toBe('other/outer')
  })
})
