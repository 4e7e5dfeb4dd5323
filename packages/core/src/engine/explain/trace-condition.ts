/**
 * Evaluates a condition tree again, node by node, keeping each node's result and the values each
 * leaf expression read. Only the explain pass calls it: the decision itself never traces.
 */
import type { CelRequest } from '../../cel/index.js'
import { CelFailure } from '../../cel/failure.js'
import type { CompiledCondition } from '../../policy/compiled.js'
import type { ExplainedCondition } from '../../types.js'
import type { EvaluationContext } from '../evaluation.js'
import type { ExplainBudget } from './budget.js'

/** Attribute paths and variables an expression reads: `request.principal.attr.a.b`, `R.attr.x`, `V.y`, ... */
const READ_PATTERN = /\b(?:request\.(?:principal|resource)|P|R)\.(?:attr(?:\.[A-Za-z_]\w*)+|id|roles|scope|kind)\b|\b(?:V|variables)\.[A-Za-z_]\w*/g

/** Values shown per expression, at most. */
const MAX_VALUES = 8

/** The value at a path like `request.principal.attr.act.user.id` (own properties only). */
function valueAt(request: CelRequest, variables: Record<string, unknown>, path: string): unknown {
  const parts = path.split('.')
  let from: unknown
  let rest: string[]
  if (parts[0] === 'V' || parts[0] === 'variables') {
    from = variables
    rest = parts.slice(1)
  } else if (parts[0] === 'request') {
    from = request
    rest = parts.slice(1)
  } else {
    from = parts[0] === 'P' ? request.principal : request.resource
    rest = parts.slice(1)
  }
  for (const part of rest) {
    if (typeof from !== 'object' || from === null) return undefined
    // A variable that failed to evaluate throws on read: show it as missing.
    try {
      from = Object.hasOwn(from, part) ? (from as Record<string, unknown>)[part] : undefined
    } catch {
      return undefined
    }
  }
  return from
}

/** The canonical name of a read (`P.attr.x` → `request.principal.attr.x`), so masking sees one spelling. */
function canonical(path: string): string {
  if (path.startsWith('P.')) return `request.principal.${path.slice(2)}`
  if (path.startsWith('R.')) return `request.resource.${path.slice(2)}`
  if (path.startsWith('variables.')) return `V.${path.slice('variables.'.length)}`
  return path
}

function readsOf(source: string, request: CelRequest, variables: Record<string, unknown>, budget: ExplainBudget): Record<string, unknown> | undefined {
  let values: Record<string, unknown> | undefined
  let count = 0
  for (const match of source.matchAll(READ_PATTERN)) {
    const name = canonical(match[0])
    if (values !== undefined && Object.hasOwn(values, name)) continue
    if (count === MAX_VALUES) {
      budget.cut()
      break
    }
    values ??= Object.create(null) as Record<string, unknown>
    values[name] = budget.value(valueAt(request, variables, match[0]))
    count++
  }
  return values
}

/**
 * The traced form of `condition`. A leaf shows `'error'` when it failed; a node shows what
 * `EvaluationContext.satisfies` makes of its items (a failed leaf is false, or in strict mode the
 * whole tree fails: `'error'`).
 */
export function traceCondition(
  ctx: EvaluationContext,
  request: CelRequest,
  condition: CompiledCondition | undefined,
  constants: Readonly<Record<string, unknown>>,
  variables: Record<string, unknown>,
  budget: ExplainBudget,
  strict: boolean,
): ExplainedCondition | undefined {
  if (condition === undefined) return undefined
  if (condition.op === 'expr') {
    const value = ctx.evaluate(condition.program, constants, variables)
    const values = readsOf(condition.program.source, request, variables, budget)
    const expr = budget.text(condition.program.source)
    if (value instanceof CelFailure) return { expr, result: 'error', error: budget.text(value.message), values }
    return { expr, result: value === true, values }
  }
  const items: ExplainedCondition[] = []
  for (const item of condition.items) {
    const traced = traceCondition(ctx, request, item, constants, variables, budget, strict)
    if (traced !== undefined) items.push(traced)
  }
  return { op: condition.op, result: combine(condition.op, items.map((i) => heldOf(i, strict))), items }
}

/** The node's result from its items', as `satisfies` combines them (an error counts as false unless strict). */
function combine(op: 'all' | 'any' | 'none', results: ReadonlyArray<boolean | 'error'>): boolean | 'error' {
  switch (op) {
    case 'all':
      for (const r of results) if (r !== true) return r
      return true
    case 'any':
      for (const r of results) if (r !== false) return r
      return false
    case 'none':
      for (const r of results) {
        if (r === 'error') return 'error'
        if (r) return false
      }
      return true
  }
}

/** Whether a traced condition held, as the engine decides it (an error is false, or a failure in strict mode). */
export function heldOf(traced: ExplainedCondition | undefined, strict: boolean): boolean | 'error' {
  if (traced === undefined) return true
  if (traced.result === 'error') return strict ? 'error' : false
  return traced.result
}
