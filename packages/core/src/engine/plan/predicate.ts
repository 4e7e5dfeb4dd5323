/**
 * A query plan as an in-memory predicate: the plan's condition is turned back into one CEL
 * expression, compiled once, and evaluated against each resource with Cerbos's CEL semantics. A
 * resource is kept only when the condition is `true`; an evaluation error (say, a missing
 * attribute) drops it, so the predicate never keeps more than the plan allows.
 */
import type { CelActivation, CelProgram } from '../../cel/index.js'
import { CelFailure } from '../../cel/failure.js'
import { compileCelProgram, evaluateQuietly } from '../../cel/program.js'
import { PlanOperatorError } from '../../errors.js'
import type { PlanFilter, PlanOperand } from './types.js'

/** The resource fields a plan can read (`request.resource.*`). */
export interface PlanSubject {
  id?: string | undefined
  kind?: string | undefined
  attr?: Record<string, unknown> | undefined
  policyVersion?: string | undefined
  scope?: string | undefined
}

/** Options of {@link planPredicate}. */
export interface PlanPredicateOptions {
  /** What `now()` returns while evaluating (plans with `timeSince`). @defaultValue `() => new Date()` */
  now?: (() => Date) | undefined
}

const INFIX: ReadonlyMap<string, string> = new Map([
  ['eq', '=='],
  ['ne', '!='],
  ['lt', '<'],
  ['le', '<='],
  ['gt', '>'],
  ['ge', '>='],
  ['in', 'in'],
  ['add', '+'],
  ['sub', '-'],
  ['mult', '*'],
  ['div', '/'],
  ['mod', '%'],
])

/** Comprehension operators and how many iteration variables their lambda ends with. */
const LAMBDA_OPERATORS: ReadonlySet<string> = new Set(['all', 'exists', 'exists_one', 'map', 'filter', 'sortBy', 'transformList', 'transformMap', 'transformMapEntry'])

/** Functions CEL only has in the global form; every other function is written as a method call. */
const GLOBAL_FUNCTIONS: ReadonlySet<string> = new Set([
  'timestamp', 'duration', 'hierarchy', 'size', 'int', 'uint', 'double', 'string', 'bytes', 'bool', 'dyn', 'type', 'now',
  'ip', 'cidr', 'isIP', 'isCIDR', 'spiffeID', 'spiffeTrustDomain', 'spiffeMatchAny', 'spiffeMatchExact', 'spiffeMatchOneOf',
  'spiffeMatchTrustDomain', 'id',
])

const IDENTIFIER = /^[_a-zA-Z][_a-zA-Z0-9]*$/

/** The plan condition as CEL source; values are bound as `V.__N` (see `bindings`). */
export function planToCel(op: PlanOperand, bindings: unknown[]): string {
  const bind = (v: unknown): string => {
    bindings.push(v)
    return `V.__${bindings.length - 1}`
  }
  const go = (o: PlanOperand): string => {
    if ('value' in o) return bind(o.value)
    if ('variable' in o) {
      if (!o.variable.split('.').every((part) => IDENTIFIER.test(part))) throw new PlanOperatorError('variable', `the variable ${JSON.stringify(o.variable)} is not a CEL path`)
      return o.variable
    }
    const { operator, operands } = o.expression
    const args = (): string[] => operands.map(go)
    const infix = INFIX.get(operator)
    if (infix !== undefined && operands.length === 2) return `(${go(operands[0]!)} ${infix} ${go(operands[1]!)})`
    switch (operator) {
      case 'and':
      case 'or':
        return operands.length === 0 ? String(operator === 'and') : `(${args().join(operator === 'and' ? ' && ' : ' || ')})`
      case 'not':
        return `(!${go(operands[0]!)})`
      case 'index':
        return `(${go(operands[0]!)})[${go(operands[1]!)}]`
      case 'if':
        return `(${go(operands[0]!)} ? ${go(operands[1]!)} : ${go(operands[2]!)})`
      case 'list':
        return `[${args().join(', ')}]`
      case 'struct':
        return `{${operands
          .map((field) => {
            const f = 'expression' in field ? field.expression : undefined
            if (f?.operator !== 'set-field' || f.operands.length !== 2) throw new PlanOperatorError('struct', 'a struct operand must be set-field expressions')
            return `${go(f.operands[0]!)}: ${go(f.operands[1]!)}`
          })
          .join(', ')}}`
      case 'get-field': {
        const field = operands[1]
        if (field === undefined || !('variable' in field) || !IDENTIFIER.test(field.variable)) throw new PlanOperatorError('get-field', 'get-field needs a field name')
        return `(${go(operands[0]!)}).${field.variable}`
      }
      default:
        break
    }
    if (LAMBDA_OPERATORS.has(operator)) {
      const lambda = operands[1]
      const parts = lambda !== undefined && 'expression' in lambda && lambda.expression.operator === 'lambda' ? lambda.expression.operands : undefined
      if (operands.length !== 2 || parts === undefined) throw new PlanOperatorError(operator, `${operator} needs a range and a lambda`)
      // Cerbos writes the lambda as its body (two for the transform macros) followed by the iteration variables.
      const varCount = operator.startsWith('transform') ? Math.min(2, parts.length - 1) : parts.length - 1
      const vars = parts.slice(parts.length - varCount).map((p) => ('variable' in p && IDENTIFIER.test(p.variable) ? p.variable : undefined))
      if (vars.some((v) => v === undefined)) throw new PlanOperatorError('lambda', 'lambda variables must be identifiers')
      const bodies = parts.slice(0, parts.length - varCount).map(go)
      return `(${go(operands[0]!)}).${operator}(${[...(vars as string[]), ...bodies].join(', ')})`
    }
    if (!/^[_a-zA-Z][_a-zA-Z0-9]*(\.[_a-zA-Z][_a-zA-Z0-9]*)?$/.test(operator)) throw new PlanOperatorError(operator, `unsupported plan operator ${JSON.stringify(operator)}`)
    if (operator.includes('.') || GLOBAL_FUNCTIONS.has(operator) || operands.length === 0) return `${operator}(${args().join(', ')})`
    const [target, ...rest] = args()
    return `(${target!}).${operator}(${rest.join(', ')})`
  }
  return go(op)
}

const NO_PRINCIPAL = Object.freeze({ id: '', roles: Object.freeze([]) as unknown as string[], attr: Object.freeze({}), policyVersion: '', scope: '' })

/**
 * Builds a predicate that tells whether a resource meets a plan's filter.
 *
 * @example
 * ```ts
 * const plan = engine.planResourcesSync({ principal, resource: { kind: 'review' }, actions: ['read'] })
 * const visible = reviews.filter((r) => keep({ id: r.id, attr: r }))
 * ```
 * @param filter - the plan's `filter` (or the whole response)
 * @throws PlanOperatorError when the plan uses an operator CEL cannot express
 * @throws ConditionError when the condition does not compile
 */
export function planPredicate(filter: PlanFilter | { filter: PlanFilter }, options: PlanPredicateOptions = {}): (resource: PlanSubject) => boolean {
  const f = 'filter' in filter ? filter.filter : filter
  if (f.kind === 'KIND_ALWAYS_ALLOWED') return () => true
  if (f.kind !== 'KIND_CONDITIONAL' || f.condition === undefined) return () => false
  const bindings: unknown[] = []
  const program: CelProgram = compileCelProgram(planToCel(f.condition, bindings), { fastPath: true })
  const variables = Object.create(null) as Record<string, unknown>
  bindings.forEach((b, i) => (variables[`__${i}`] = b))
  const now = options.now ?? ((): Date => new Date())
  return (resource) => {
    const activation: CelActivation = {
      request: {
        principal: NO_PRINCIPAL,
        resource: { kind: resource.kind ?? '', id: resource.id ?? '', attr: resource.attr ?? {}, policyVersion: resource.policyVersion ?? '', scope: resource.scope ?? '' },
        auxData: { jwt: {} },
      },
      variables,
      constants: {},
      globals: {},
      runtime: { effectiveDerivedRoles: [] },
      now: now(),
    }
    const result = evaluateQuietly(program, activation)
    return !(result instanceof CelFailure) && result === true
  }
}
