import type { ASTNode, Environment } from '@marcbachmann/cel-js'
import { ConditionError } from '../../errors.js'
import { celCompare } from './collections.js'
import type { Checker, Evaluator, MacroInput, ScopeContext } from './macro-hooks.js'

/** Binds the iteration variables to entry `index` and evaluates `node`. */
type RunAt = (index: number, node: ASTNode) => unknown
type Entries = ReadonlyArray<readonly [unknown, unknown]>
type Fold = (entries: Entries, run: RunAt, body: readonly ASTNode[]) => unknown

function variableName(node: ASTNode, macro: string): string {
  if (node.op === 'id') return node.args
  throw new ConditionError(`${macro}: iteration variable must be an identifier`, { reason: 'parse_error' })
}

/** (key, value) pairs: index and element for lists, key and value for maps. */
function entriesOf(collection: unknown, macro: string): Entries {
  if (Array.isArray(collection)) return collection.map((v, i) => [BigInt(i), v] as const)
  if (collection instanceof Map) return [...collection.entries()]
  if (typeof collection === 'object' && collection !== null) return Object.entries(collection)
  throw new ConditionError(`no such overload: ${macro}`, { reason: 'no_such_overload' })
}

function predicateResult(value: unknown, macro: string): boolean {
  if (typeof value === 'boolean') return value
  throw new ConditionError(`${macro}: predicate must return bool`, { reason: 'no_such_overload' })
}

/** A macro binding two iteration variables (`list.all(i, v, p)`, `map.transformMap(k, v, t)`, ...). */
function twoVariableMacro(name: string, resultType: string, fold: Fold) {
  return ({ args, receiver }: MacroInput) => {
    const first = variableName(args[0]!, name)
    const second = variableName(args[1]!, name)
    const body = args.slice(2)
    return {
      typeCheck(chk: Checker, _macro: unknown, ctx: ScopeContext): unknown {
        chk.check(receiver, ctx)
        const inner = ctx.forkWithVariable(first, chk.dynType).forkWithVariable(second, chk.dynType)
        for (const node of body) chk.check(node, inner)
        return chk.getType(resultType)
      },
      evaluate(ev: Evaluator, _macro: unknown, ctx: ScopeContext): unknown {
        const entries = entriesOf(ev.run(receiver, ctx), name)
        const outer = ctx.forkWithVariable(first, ev.dynType)
        const inner = outer.forkWithVariable(second, ev.dynType)
        const run: RunAt = (index, node) => {
          const [key, value] = entries[index]!
          outer.setIterValue(key, ev)
          return ev.run(node, inner.setIterValue(value, ev))
        }
        return fold(entries, run, body)
      },
    }
  }
}

/** `all`/`exists`: a decisive result wins over errors; otherwise the first error is raised. */
function quantifier(macro: string, decisive: boolean): Fold {
  return (entries, run, [predicate]) => {
    let firstError: unknown
    for (let i = 0; i < entries.length; i++) {
      try {
        if (predicateResult(run(i, predicate!), macro) === decisive) return decisive
      } catch (err) {
        firstError ??= err
      }
    }
    // eslint-disable-next-line @typescript-eslint/only-throw-error -- the first error a predicate threw, as it was
    if (firstError !== undefined) throw firstError
    return !decisive
  }
}

const existsOne: Fold = (entries, run, [predicate]) => {
  let count = 0
  for (let i = 0; i < entries.length; i++) if (predicateResult(run(i, predicate!), 'existsOne')) count++
  return count === 1
}

/** Runs `transform` for every entry that passes the optional `filter` (bodies are `[transform]` or `[filter, transform]`). */
function selected(entries: Entries, run: RunAt, body: readonly ASTNode[], each: (index: number, value: unknown) => void): void {
  const [filter, transform] = body.length === 2 ? body : [undefined, body[0]]
  for (let i = 0; i < entries.length; i++) {
    if (filter !== undefined && !predicateResult(run(i, filter), 'transform filter')) continue
    each(i, run(i, transform!))
  }
}

const transformList: Fold = (entries, run, body) => {
  const out: unknown[] = []
  selected(entries, run, body, (_, value) => out.push(value))
  return out
}

const transformMap: Fold = (entries, run, body) => {
  const out = new Map<unknown, unknown>()
  selected(entries, run, body, (i, value) => out.set(entries[i]![0], value))
  return out
}

const transformMapEntry: Fold = (entries, run, body) => {
  const out = new Map<unknown, unknown>()
  selected(entries, run, body, (_, produced) => {
    for (const [key, value] of entriesOf(produced, 'transformMapEntry')) {
      if (out.has(key)) {
        throw new ConditionError(`insert failed: key ${String(key)} already exists`, { reason: 'invalid_argument' })
      }
      out.set(key, value)
    }
  })
  return out
}

/** `list.sortBy(e, key)`: a stable sort by the key each element maps to. */
function sortByMacro({ args, receiver }: MacroInput) {
  const variable = variableName(args[0]!, 'sortBy')
  const key = args[1]!
  return {
    typeCheck(chk: Checker, _macro: unknown, ctx: ScopeContext): unknown {
      chk.check(receiver, ctx)
      chk.check(key, ctx.forkWithVariable(variable, chk.dynType))
      return chk.getType('list')
    },
    evaluate(ev: Evaluator, _macro: unknown, ctx: ScopeContext): unknown {
      const list = ev.run(receiver, ctx)
      if (!Array.isArray(list)) throw new ConditionError('no such overload: sortBy', { reason: 'no_such_overload' })
      const inner = ctx.forkWithVariable(variable, ev.dynType)
      const keyed = list.map((item: unknown) => ({ item, key: ev.run(key, inner.setIterValue(item, ev)) }))
      return keyed.sort((a, b) => celCompare(a.key, b.key)).map((entry) => entry.item)
    },
  }
}

/** Registers cel-go's two-variable comprehensions and `sortBy`. */
export function registerComprehensions(env: Environment): void {
  const macros: Array<[string, string, number[], Fold]> = [
    ['all', 'bool', [3], quantifier('all', false)],
    ['exists', 'bool', [3], quantifier('exists', true)],
    ['existsOne', 'bool', [3], existsOne],
    ['transformList', 'list', [3, 4], transformList],
    ['transformMap', 'map', [3, 4], transformMap],
    ['transformMapEntry', 'map', [3, 4], transformMapEntry],
  ]
  for (const [name, result, arities, fold] of macros) {
    for (const arity of arities) {
      const params = new Array<string>(arity).fill('ast').join(', ')
      env.registerFunction(`dyn.${name}(${params}): ${result}`, twoVariableMacro(name, result, fold))
    }
  }
  env.registerFunction('dyn.sortBy(ast, ast): list', sortByMacro)
}
