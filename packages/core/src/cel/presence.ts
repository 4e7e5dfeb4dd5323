import type { ASTNode } from '@marcbachmann/cel-js'
import { ConditionError } from '../errors.js'
import { walk } from './ast.js'
import { Optional } from './values.js'

/**
 * Field presence as Cerbos (cel-go) tests it, checked with `cerbos repl`: `has(x.f)` and `x.?f`
 * look the field up on a map; on a list they are an error (`unsupported index type 'string' in
 * list`); on a scalar or null the field is absent. The library answered "absent" for lists too.
 */

interface ScopeContext {
  readonly __brand?: never
}
interface Checker {
  check(node: ASTNode, ctx: ScopeContext): unknown
  getType(name: string): unknown
}
interface Evaluator {
  run(node: unknown, ctx: ScopeContext): unknown
}

const ABSENT = Object.freeze({ present: false, value: undefined })

/** Whether `key` is present on `value`; throws for a list, as cel-go does. */
function fieldPresence(value: unknown, key: string): { present: boolean; value: unknown } {
  if (Array.isArray(value)) {
    throw new ConditionError("unsupported index type 'string' in list", { reason: 'no_such_overload' })
  }
  if (value instanceof Map) return { present: value.has(key), value: value.get(key) }
  if (typeof value === 'object' && value !== null) {
    const proto: unknown = Object.getPrototypeOf(value)
    if (proto === Object.prototype || proto === null) {
      const own = Object.hasOwn(value, key) && (value as Record<string, unknown>)[key] !== undefined
      return { present: own, value: own ? (value as Record<string, unknown>)[key] : undefined }
    }
  }
  return ABSENT
}

function hasMacro({ args }: { args: ASTNode[] }) {
  const selection = args[0]
  if (args.length !== 1 || selection === undefined || selection.op !== '.') {
    throw new ConditionError('invalid argument to has() macro', { reason: 'type_error' })
  }
  const [operand, key] = selection.args
  return {
    typeCheck(chk: Checker, _macro: unknown, ctx: ScopeContext): unknown {
      chk.check(operand, ctx)
      return chk.getType('bool')
    },
    evaluate(ev: Evaluator, _macro: unknown, ctx: ScopeContext): boolean {
      let target = ev.run(operand, ctx)
      if (target instanceof Optional) {
        if (!target.hasValue()) return false
        target = target.value()
      }
      return fieldPresence(target, key).present
    },
  }
}

/** Optional field selection on a value: absent optional stays absent, fields only on maps. */
function selectOptionally(target: unknown, key: string): unknown {
  if (target instanceof Optional) {
    if (!target.hasValue()) return target
    target = target.value()
  }
  const presence = fieldPresence(target, key)
  return presence.present ? Optional.of(presence.value) : Optional.none()
}

/** `x.?f`, and `x.f` when `x` is optional (`R.attr.?a.b`). */
function optionalSelect(ev: Evaluator, node: { args: [unknown, string] }, ctx: ScopeContext): unknown {
  return selectOptionally(ev.run(node.args[0], ctx), node.args[1])
}

/** A plain `.f` below an optional selection: optional values chain, everything else as usual. */
function chainedSelect(
  ev: Evaluator,
  node: { args: [unknown, string]; handle(left: unknown, right: string, node: unknown, ev: Evaluator): unknown },
  ctx: ScopeContext,
): unknown {
  const target = ev.run(node.args[0], ctx)
  if (target instanceof Optional) return selectOptionally(target, node.args[1])
  return node.handle(target, node.args[1], node, ev)
}

/** True when the select/index chain under `node` contains an optional selection. */
function belowOptional(node: { op: string; args: unknown }): boolean {
  let current: unknown = Array.isArray(node.args) ? node.args[0] : undefined
  while (typeof current === 'object' && current !== null && 'op' in current) {
    const op = (current as { op: string }).op
    if (op === '.?' || op === '[?]') return true
    if (op !== '.' && op !== '[]') return false
    current = (current as unknown as { args: unknown[] }).args[0]
  }
  return false
}

type Settable = { setMeta(key: string, value: unknown): void }

/**
 * Installs cel-go's presence semantics on a parsed expression: the `has()` macro, `.?` selection
 * and plain selections chained after an optional one.
 */
export function useCelGoPresence(root: ASTNode): void {
  walk(root, (node) => {
    const settable = node as unknown as Settable
    if (node.op === 'call' && Array.isArray(node.args) && node.args[0] === 'has') {
      settable.setMeta('macro', hasMacro({ args: node.args[1] as ASTNode[] }))
    } else if (node.op === '.?') {
      settable.setMeta('evaluate', optionalSelect)
    } else if (node.op === '.' && belowOptional(node)) {
      settable.setMeta('evaluate', chainedSelect)
    }
  })
}
