/**
 * From the planner's tree to Cerbos's filter: operator names, variables and values exactly as the
 * PDP prints them, then Cerbos's normalisation (constant folding of and/or/not, `in` over one or
 * no values, duplicate operands) and the AND of several actions' filters.
 */
import { ConditionError } from '../../errors.js'
import { Optional, UnsignedInt } from '../../cel/values.js'
import type { PlanNode } from './nodes.js'
import type { RExpr } from './residual.js'
import type { PlanFilter, PlanOperand } from './types.js'

const OPERATORS: ReadonlyMap<string, string> = new Map([
  ['==', 'eq'],
  ['!=', 'ne'],
  ['>', 'gt'],
  ['>=', 'ge'],
  ['<', 'lt'],
  ['<=', 'le'],
  ['in', 'in'],
  ['+', 'add'],
  ['-', 'sub'],
  ['*', 'mult'],
  ['/', 'div'],
  ['%', 'mod'],
  ['[]', 'index'],
  ['&&', 'and'],
  ['||', 'or'],
  ['!_', 'not'],
  ['?:', 'if'],
  ['existsOne', 'exists_one'],
])

const expression = (operator: string, operands: PlanOperand[]): PlanOperand => ({ expression: { operator, operands } })

/** A CEL literal as a JSON value (ints and uints become numbers, bytes base64, as protobuf's Value does). */
function jsonValue(v: unknown): unknown {
  if (typeof v === 'bigint') return Number(v)
  if (v instanceof UnsignedInt) return Number(v.valueOf())
  if (v instanceof Uint8Array) return Buffer.from(v).toString('base64')
  if (v instanceof Optional) throw new ConditionError('an optional value cannot be written in a query plan', { reason: 'unsupported_in_plan' })
  return v
}

/** Cerbos's abbreviations expanded (`R.attr.x` → `request.resource.attr.x`). */
function expandAbbrev(name: string): string {
  const dot = name.indexOf('.')
  const prefix = dot < 0 ? name : name.slice(0, dot)
  const rest = dot < 0 ? '' : name.slice(dot)
  const expanded: Record<string, string> = { P: 'request.principal', R: 'request.resource', C: 'constants', V: 'variables', G: 'globals' }
  return (Object.prototype.hasOwnProperty.call(expanded, prefix) ? expanded[prefix]! : prefix) + rest
}

/** Map keys in Cerbos's order (by their protobuf text; for string keys, by the string). */
function sortedKeys(map: Extract<RExpr, { k: 'map' }>): RExpr[] {
  const keyText = (e: RExpr): string => (e.k === 'lit' ? `${typeof e.v}:${String(e.v)}` : JSON.stringify(e))
  return map.entries.map(([key]) => key).sort((a, b) => (keyText(a) < keyText(b) ? -1 : keyText(a) > keyText(b) ? 1 : 0))
}

/** The lambda operator of a comprehension macro. */
function lambdaOperator(e: Extract<RExpr, { k: 'compre' }>): { operator: string; bodies: readonly RExpr[] } {
  if (e.macro === 'map' && e.bodies.length === 2) {
    // map(x, predicate, transform): Cerbos reads it as a transformList when the transform is a call.
    return e.bodies[1]!.k === 'call' ? { operator: 'transformList', bodies: e.bodies } : { operator: 'filter', bodies: [e.bodies[0]!] }
  }
  if (e.macro === 'map' && e.vars.length === 2) return { operator: 'transformList', bodies: e.bodies }
  return { operator: OPERATORS.get(e.macro) ?? e.macro, bodies: e.bodies }
}

/** One residual expression as a filter operand. */
export function operandOf(e: RExpr, parent?: RExpr): PlanOperand {
  switch (e.k) {
    case 'lit':
      return { value: jsonValue(e.v) }
    case 'ident':
      return { variable: e.name }
    case 'select': {
      if (e.test) return { value: true }
      const names: string[] = [e.field]
      let cur: RExpr = e.operand
      while (cur.k === 'select' && !cur.test && !cur.opt) {
        names.unshift(cur.field)
        cur = cur.operand
      }
      if (cur.k === 'ident' && !e.opt) return { variable: [cur.name, ...names].join('.') }
      return expression('get-field', [operandOf(e.operand, e), { variable: e.field }])
    }
    case 'call': {
      const operator = OPERATORS.get(e.fn) ?? e.fn
      const operands = [...(e.target ? [operandOf(e.target, e)] : []), ...e.args.map((a) => operandOf(a, e))]
      return expression(operator, operands)
    }
    case 'list':
      if (e.elems.every((x) => x.k === 'lit')) return { value: e.elems.map((x) => jsonValue((x as { v: unknown }).v)) }
      return expression('list', e.elems.map((x) => operandOf(x, e)))
    case 'map':
      // A map on the right of `in` is a membership test of its keys.
      if (parent?.k === 'call' && parent.fn === 'in' && parent.args[1] === e) return operandOf({ k: 'list', elems: sortedKeys(e) }, parent)
      return expression(
        'struct',
        e.entries.map(([key, value]) => expression('set-field', [operandOf(key, e), operandOf(value, e)])),
      )
    case 'compre': {
      const { operator, bodies } = lambdaOperator(e)
      const range: RExpr = e.range.k === 'map' && !operator.startsWith('transform') ? { k: 'list', elems: sortedKeys(e.range) } : e.range
      const lambda = expression('lambda', [...bodies.map((b) => operandOf(b, e)), ...e.vars.map((v) => ({ variable: v }))])
      return expression(operator, [operandOf(range, e), lambda])
    }
  }
}

/** A logical tree as an operand (before normalisation). */
function convert(node: PlanNode): PlanOperand {
  if (node.k === 'expr') return operandOf(node.e)
  return expression(node.k, node.nodes.map(convert))
}

const boolOf = (op: PlanOperand | undefined): boolean | undefined =>
  op !== undefined && 'value' in op && typeof op.value === 'boolean' ? op.value : undefined

/** Cerbos's `normaliseFilterExprOp`; undefined means "nothing" (always allowed). */
function normalise(op: PlanOperand): PlanOperand | undefined {
  if ('variable' in op) return { variable: expandAbbrev(op.variable) }
  if (!('expression' in op)) return op
  const { operator } = op.expression
  let operands = op.expression.operands
  let op2 = operator
  if (operator === 'in' && operands.length === 2) {
    const rhs = operands[1]!
    if ('value' in rhs) {
      const v = rhs.value
      if (Array.isArray(v)) {
        if (v.length === 0) return { value: false }
        if (v.length === 1) {
          op2 = 'eq'
          operands = [operands[0]!, { value: v[0] }]
        }
      } else if (typeof v === 'object' && v !== null) {
        const keys = Object.keys(v)
        if (keys.length === 0) return { value: false }
        if (keys.length === 1) {
          op2 = 'eq'
          operands = [operands[0]!, { value: keys[0] }]
        }
      } else {
        op2 = 'eq'
      }
    }
  }
  const logical = op2 === 'and' || op2 === 'or' || op2 === 'not'
  const seen = logical && op2 !== 'not' ? new Set<string>() : undefined
  const out: PlanOperand[] = []
  for (const child of operands) {
    const n = normalise(child)
    if (n === undefined) continue
    if (logical) {
      const b = boolOf(n)
      if (b !== undefined) {
        if (op2 === 'and' && b) continue
        if (op2 === 'or' && !b) continue
        if (op2 === 'and') return { value: false }
        if (op2 === 'or') return { value: true }
      }
    }
    if (seen) {
      const key = JSON.stringify(n)
      if (seen.has(key)) continue
      seen.add(key)
    }
    out.push(n)
  }
  if (logical) {
    if (out.length === 0) {
      if (op2 === 'and') return { value: true }
      if (op2 === 'or') return { value: false }
      return undefined
    }
    if (out.length === 1) {
      if (op2 !== 'not') return out[0]
      const b = boolOf(out[0])
      if (b !== undefined) return { value: !b }
    }
  }
  return expression(op2, out)
}

/** The filter of one action's tree. */
export function toFilter(node: PlanNode): PlanFilter {
  const condition = normalise(convert(node))
  if (condition === undefined) return { kind: 'KIND_ALWAYS_ALLOWED' }
  const b = boolOf(condition)
  if (b !== undefined) return { kind: b ? 'KIND_ALWAYS_ALLOWED' : 'KIND_ALWAYS_DENIED' }
  return { kind: 'KIND_CONDITIONAL', condition }
}

/** Go protojson's compact rendering of a value (object keys sorted). */
function valueText(v: unknown): string {
  return JSON.stringify(v, (_k, x: unknown) =>
    x && typeof x === 'object' && !Array.isArray(x) ? Object.fromEntries(Object.entries(x as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) : x,
  )
}

function operandText(op: PlanOperand): string {
  if ('expression' in op) return `(${op.expression.operator} ${op.expression.operands.map(operandText).join(' ')})`
  if ('variable' in op) return op.variable
  return valueText(op.value)
}

/** Cerbos's `filterDebug` text of a filter. */
export function filterText(filter: PlanFilter): string {
  if (filter.kind === 'KIND_ALWAYS_ALLOWED') return '(true)'
  if (filter.kind === 'KIND_ALWAYS_DENIED') return '(false)'
  return filter.condition ? operandText(filter.condition) : ''
}

/** The filters of several actions combined with AND (distinct conditions in text order). */
export function mergeWithAnd(filters: readonly PlanFilter[]): { filter: PlanFilter; debug: string } {
  const conditions = new Map<string, PlanOperand>()
  for (const f of filters) {
    if (f.kind === 'KIND_ALWAYS_ALLOWED') continue
    if (f.kind === 'KIND_ALWAYS_DENIED') return { filter: { kind: 'KIND_ALWAYS_DENIED' }, debug: filterText(f) }
    conditions.set(filterText(f), f.condition!)
  }
  let filter: PlanFilter
  if (conditions.size === 0) filter = { kind: 'KIND_ALWAYS_ALLOWED' }
  else if (conditions.size === 1) filter = { kind: 'KIND_CONDITIONAL', condition: [...conditions.values()][0]! }
  else {
    const keys = [...conditions.keys()].sort()
    filter = { kind: 'KIND_CONDITIONAL', condition: expression('and', keys.map((k) => conditions.get(k)!)) }
  }
  return { filter, debug: filterText(filter) }
}
