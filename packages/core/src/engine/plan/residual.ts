/**
 * The planner's own expression tree ("residual"): a condition with what is known folded into
 * literal values and what depends on the resource left as expressions. It is built from the CEL
 * library's parse tree, partially evaluated, and finally turned into Cerbos's filter operands.
 */
import type { CelAstNode as ASTNode } from '../../cel/types.js'

/** A residual expression. Call names are the CEL library's (`==`, `&&`, `[]`, `startsWith`, ...). */
export type RExpr =
  /** A known CEL value (bigint = int, number = double, Date = timestamp, ...). */
  | { readonly k: 'lit'; readonly v: unknown }
  | { readonly k: 'ident'; readonly name: string }
  /** `operand.field`; `test` = the `has(operand.field)` presence test; `opt` = `operand.?field`. */
  | { readonly k: 'select'; readonly operand: RExpr; readonly field: string; readonly test: boolean; readonly opt: boolean }
  | { readonly k: 'call'; readonly fn: string; readonly target: RExpr | undefined; readonly args: readonly RExpr[] }
  | { readonly k: 'list'; readonly elems: readonly RExpr[] }
  | { readonly k: 'map'; readonly entries: ReadonlyArray<readonly [RExpr, RExpr]> }
  /** A comprehension macro: `range.macro(vars..., bodies...)`. */
  | { readonly k: 'compre'; readonly macro: string; readonly range: RExpr; readonly vars: readonly string[]; readonly bodies: readonly RExpr[] }

export const lit = (v: unknown): RExpr => ({ k: 'lit', v })
export const ident = (name: string): RExpr => ({ k: 'ident', name })
export const call = (fn: string, args: readonly RExpr[], target?: RExpr): RExpr => ({ k: 'call', fn, target, args })
export const TRUE: RExpr = Object.freeze({ k: 'lit', v: true })
export const FALSE: RExpr = Object.freeze({ k: 'lit', v: false })

/** Whether `e` is the literal `true` / `false`. */
export function constBool(e: RExpr): boolean | undefined {
  return e.k === 'lit' && typeof e.v === 'boolean' ? e.v : undefined
}

/** The comprehension macros and how many iteration variables each form binds. */
const MACROS: ReadonlySet<string> = new Set(['all', 'exists', 'exists_one', 'existsOne', 'map', 'filter', 'transformList', 'transformMap', 'transformMapEntry', 'sortBy'])

const BINARY: ReadonlySet<string> = new Set(['==', '!=', '<', '<=', '>', '>=', 'in', '+', '-', '*', '/', '%', '&&', '||', '[]', '[?]'])

/** How many leading arguments of a macro call are iteration variables. */
function iterationVariables(macro: string, args: readonly ASTNode[]): number {
  const isIdent = (n: ASTNode | undefined): boolean => n?.op === 'id'
  if (macro === 'transformMap' || macro === 'transformMapEntry' || macro === 'transformList') return args.length >= 3 && isIdent(args[1]) ? 2 : 1
  if ((macro === 'all' || macro === 'exists' || macro === 'existsOne' || macro === 'exists_one') && args.length === 3 && isIdent(args[1])) return 2
  return 1
}

/**
 * Flattens a left-nested chain of one logical operator into its terms. The library parses
 * `a && b && c` left-associatively; cel-go balances the terms, which decides the filter's shape.
 */
function chainTerms(node: ASTNode, op: '&&' | '||'): ASTNode[] {
  const terms: ASTNode[] = []
  let cur: ASTNode = node
  while (cur.op === op) {
    const [left, right] = cur.args
    terms.unshift(right)
    cur = left
  }
  terms.unshift(cur)
  return terms
}

/** cel-go's balanced tree over the terms of a logical chain. */
function balanced(op: string, terms: readonly RExpr[], lo: number, hi: number): RExpr {
  const mid = Math.floor((lo + hi + 1) / 2)
  const left = mid === lo ? terms[mid]! : balanced(op, terms, lo, mid - 1)
  const right = mid === hi ? terms[mid + 1]! : balanced(op, terms, mid + 1, hi)
  return call(op, [left, right])
}

/**
 * Converts a parsed CEL tree into a residual tree. `variable(name)` supplies the tree of `V.name`
 * (Cerbos inlines variables before it evaluates); iteration variables shadow `V`/`variables`.
 */
export function fromAst(node: ASTNode, variable: (name: string) => RExpr, shadowed: ReadonlySet<string> = new Set()): RExpr {
  const go = (n: ASTNode, sh: ReadonlySet<string>): RExpr => {
    switch (n.op) {
      case 'value':
        return lit(n.args)
      case 'id':
        return ident(n.args)
      case '.':
      case '.?': {
        const [operand, field] = n.args
        if (n.op === '.' && operand.op === 'id' && (operand.args === 'V' || operand.args === 'variables') && !sh.has(operand.args)) return variable(field)
        if (n.op === '.' && operand.op === 'id' && operand.args === 'request' && field === 'aux_data') return { k: 'select', operand: ident('request'), field: 'auxData', test: false, opt: false }
        const base = go(operand, sh)
        const renamed =
          field === 'policy_version' ? 'policyVersion' : field === 'effective_derived_roles' && operand.op === 'id' && operand.args === 'runtime' ? 'effectiveDerivedRoles' : field
        return { k: 'select', operand: base, field: renamed, test: false, opt: n.op === '.?' }
      }
      case '&&':
      case '||': {
        const terms = chainTerms(n, n.op).map((t) => go(t, sh))
        return balanced(n.op, terms, 0, terms.length - 2)
      }
      case '!_':
      case '-_':
        return call(n.op, [go(n.args, sh)])
      case '?:':
        return call('?:', (n.args as ASTNode[]).map((a) => go(a, sh)))
      case 'list':
        return { k: 'list', elems: n.args.map((a) => go(a, sh)) }
      case 'map':
        return { k: 'map', entries: (n.args as Array<[ASTNode, ASTNode]>).map(([key, value]) => [go(key, sh), go(value, sh)] as const) }
      case 'call': {
        const [name, args] = n.args
        if (name === 'has' && args.length === 1 && args[0]!.op === '.') {
          const inner = go(args[0], sh)
          if (inner.k === 'select') return { ...inner, test: true }
          return call('has', [inner])
        }
        return call(name, args.map((a) => go(a, sh)))
      }
      case 'rcall': {
        const [name, receiver, args] = n.args
        if (MACROS.has(name) && args.length >= 2 && args[0]!.op === 'id') {
          const count = iterationVariables(name, args)
          const vars = args.slice(0, count).map((a) => a.args as string)
          const inner = new Set([...sh, ...vars])
          return { k: 'compre', macro: name, range: go(receiver, sh), vars, bodies: args.slice(count).map((a) => go(a, inner)) }
        }
        if (name === 'bind' && receiver.op === 'id' && receiver.args === 'cel' && args.length === 3 && args[0]!.op === 'id') {
          const inner = new Set([...sh, args[0].args])
          return call('cel.bind', [ident(args[0].args), go(args[1]!, sh), go(args[2]!, inner)])
        }
        return call(name, args.map((a) => go(a, sh)), go(receiver, sh))
      }
      default:
        if (BINARY.has(n.op)) {
          const [a, b] = n.args
          return call(n.op, [go(a, sh), go(b, sh)])
        }
        throw new Error(`unsupported expression node: ${n.op}`)
    }
  }
  return go(node, shadowed)
}

/** Identifiers bound by the expression itself (iteration variables, `cel.bind` names). */
export function boundNames(e: RExpr): readonly string[] {
  if (e.k === 'compre') return e.vars
  return []
}

/** Calls `visit` on `e` and every sub-expression. */
export function forEachNode(e: RExpr, visit: (e: RExpr) => void): void {
  visit(e)
  switch (e.k) {
    case 'select':
      forEachNode(e.operand, visit)
      break
    case 'call':
      if (e.target) forEachNode(e.target, visit)
      for (const a of e.args) forEachNode(a, visit)
      break
    case 'list':
      for (const a of e.elems) forEachNode(a, visit)
      break
    case 'map':
      for (const [key, value] of e.entries) {
        forEachNode(key, visit)
        forEachNode(value, visit)
      }
      break
    case 'compre':
      forEachNode(e.range, visit)
      for (const b of e.bodies) forEachNode(b, visit)
      break
    default:
      break
  }
}

const INFIX: ReadonlySet<string> = new Set(['==', '!=', '<', '<=', '>', '>=', 'in', '+', '-', '*', '/', '%', '&&', '||'])

/**
 * CEL source for a residual tree, for the CEL library to evaluate a known part. Literal values
 * and known iteration variables are not printed: they become `V.__N` references bound in
 * `bindings`, so the same shape always prints the same source (and compiles once).
 */
export function toSource(e: RExpr, bindings: unknown[], known: ReadonlyMap<string, unknown>): string {
  const bind = (v: unknown): string => {
    bindings.push(v)
    return `V.__${bindings.length - 1}`
  }
  const go = (x: RExpr, shadow: ReadonlySet<string>): string => {
    switch (x.k) {
      case 'lit':
        return bind(x.v)
      case 'ident':
        return !shadow.has(x.name) && known.has(x.name) ? bind(known.get(x.name)) : x.name
      case 'select': {
        const inner = `(${go(x.operand, shadow)})${x.opt ? '.?' : '.'}${x.field}`
        return x.test ? `has(${inner})` : inner
      }
      case 'call': {
        const args = x.args.map((a) => go(a, shadow))
        if (x.fn === 'cel.bind') {
          const name = (x.args[0] as { name: string }).name
          return `cel.bind(${name}, ${args[1]!}, ${go(x.args[2]!, new Set([...shadow, name]))})`
        }
        if (INFIX.has(x.fn)) return `(${args[0]!} ${x.fn} ${args[1]!})`
        if (x.fn === '!_') return `(!${args[0]!})`
        if (x.fn === '-_') return `(-${args[0]!})`
        if (x.fn === '?:') return `(${args[0]!} ? ${args[1]!} : ${args[2]!})`
        if (x.fn === '[]') return `(${args[0]!})[${args[1]!}]`
        if (x.fn === '[?]') return `(${args[0]!})[?${args[1]!}]`
        if (x.target) return `(${go(x.target, shadow)}).${x.fn}(${args.join(', ')})`
        return `${x.fn}(${args.join(', ')})`
      }
      case 'list':
        return `[${x.elems.map((a) => go(a, shadow)).join(', ')}]`
      case 'map':
        return `{${x.entries.map(([key, value]) => `${go(key, shadow)}: ${go(value, shadow)}`).join(', ')}}`
      case 'compre': {
        const inner = new Set([...shadow, ...x.vars])
        return `(${go(x.range, shadow)}).${x.macro}(${[...x.vars, ...x.bodies.map((b) => go(b, inner))].join(', ')})`
      }
    }
  }
  return go(e, new Set())
}
