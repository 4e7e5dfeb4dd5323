/**
 * Rewrites Cerbos's planner applies to the top of a condition's residual before it becomes a
 * filter: a lookup in a known map indexed by a resource field becomes one equality per map entry,
 * and `exists`/`all` over a short known list becomes an `||`/`&&` of the body per element.
 */
import type { PartialEvaluator } from './partial-eval.js'
import { call, type RExpr } from './residual.js'

const COMPARISONS: ReadonlySet<string> = new Set(['==', '!=', '<', '<=', '>', '>='])
/** Cerbos expands comprehensions over at most this many known elements. */
const MAX_EXPANDED_ITEMS = 10

/** Right-nested `op(a0, op(a1, ...))`, as Cerbos builds its option chains. */
function chain(op: '&&' | '||', items: readonly RExpr[]): RExpr {
  if (items.length === 1) return items[0]!
  if (items.length === 2) return call(op, [items[0]!, items[1]!])
  return call(op, [items[0]!, chain(op, items.slice(1))])
}

interface Indexed {
  map: Extract<RExpr, { k: 'map' }>
  indexer: RExpr
  field: string | undefined
}

/** `known_map[R.attr.x]` or `known_map[R.attr.x].field`. */
function indexedMap(e: RExpr): Indexed | undefined {
  let field: string | undefined
  let cur = e
  if (cur.k === 'select' && !cur.test) {
    field = cur.field
    cur = cur.operand
  }
  if (cur.k !== 'call' || cur.fn !== '[]' || cur.args.length !== 2) return undefined
  const [map, indexer] = cur.args as [RExpr, RExpr]
  if (map.k !== 'map' || indexer.k !== 'select') return undefined
  return { map, indexer, field }
}

function mapOptions(indexed: Indexed, option: (value: RExpr) => RExpr): RExpr | undefined {
  const entries = [...indexed.map.entries].sort(([a], [b]) => {
    if (a.k !== 'lit' || b.k !== 'lit' || typeof a.v !== 'string' || typeof b.v !== 'string') return 0
    return a.v < b.v ? -1 : a.v > b.v ? 1 : 0
  })
  if (entries.length === 0) return undefined
  const options = entries.map(([key, value]) => {
    const v: RExpr = indexed.field === undefined ? value : { k: 'select', operand: value, field: indexed.field, test: false, opt: false }
    return call('&&', [call('==', [indexed.indexer, key]), option(v)])
  })
  return chain('||', options)
}

function onlyKnownValues(e: RExpr): boolean {
  if (e.k === 'lit') return true
  if (e.k === 'list') return e.elems.every(onlyKnownValues)
  if (e.k === 'map') return e.entries.every(([key, value]) => onlyKnownValues(key) && onlyKnownValues(value))
  return false
}

/**
 * Applies the first matching rewrite to a residual.
 *
 * @returns the rewritten expression (to be partially evaluated again), or undefined when none applies
 */
export function expandResidual(e: RExpr, evaluator: PartialEvaluator): RExpr | undefined {
  if (e.k === 'call' && e.args.length === 2 && e.target === undefined) {
    const [a, b] = e.args as [RExpr, RExpr]
    if (COMPARISONS.has(e.fn) && b.k === 'lit') {
      const indexed = indexedMap(a)
      // Cerbos puts the constant first: `const <op> value`.
      if (indexed) return mapOptions(indexed, (value) => call(e.fn, [b, value]))
    }
    if (e.fn === 'in' && a.k === 'lit') {
      const indexed = indexedMap(b)
      if (indexed) return mapOptions(indexed, (value) => call('in', [a, value]))
    }
  }
  if (e.k === 'compre' && (e.macro === 'exists' || e.macro === 'all') && (e.range.k === 'list' || e.range.k === 'map') && onlyKnownValues(e.range)) {
    const items = e.range.k === 'list' ? e.range.elems.length : e.range.entries.length
    if (items > MAX_EXPANDED_ITEMS || items === 0) return undefined
    const range = evaluator.evaluate(e.range)
    if (range.s !== 'known') return undefined
    const values = range.v
    const steps: Array<[unknown, unknown]> = Array.isArray(values)
      ? values.map((v, i) => (e.vars.length === 2 ? [BigInt(i), v] : [v, undefined]))
      : values instanceof Map
        ? [...(values as Map<unknown, unknown>).entries()]
        : Object.entries(values as Record<string, unknown>)
    const options = steps.map(([first, second]) => {
      const iter = new Map<string, { value: unknown } | undefined>([[e.vars[0]!, { value: first }]])
      if (e.vars.length === 2) iter.set(e.vars[1]!, { value: second })
      return evaluator.evaluateWith(e.bodies[0]!, iter).expr
    })
    return chain(e.macro === 'all' ? '&&' : '||', options)
  }
  return undefined
}
