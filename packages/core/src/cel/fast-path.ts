import type { ASTNode } from '@marcbachmann/cel-js'

/**
 * A direct JS function for the simple shapes most Cerbos conditions have (field paths, literals,
 * `==`, `!=`, ordering, `in`, `&&`, `||`, `!`, `has()` on a map). It handles only values whose CEL semantics are
 * unambiguous in JS (strings, booleans, doubles, ints, null, plain-object maps, arrays) and returns
 * {@link FALLBACK} for anything else (a missing key, a list compared with `==`, a uint, ...), in
 * which case the caller evaluates with the CEL library. Evaluation has no side effects, so
 * re-evaluating is safe and the library stays the source of truth for every error.
 *
 * The function is generated source (one per expression) so that every field read is a named
 * property load with its own inline cache; shared closures made those reads megamorphic and 10x
 * slower. Only JSON-encoded literals and the fixed Cerbos identifiers are spliced into the source.
 */
export const FALLBACK: unique symbol = Symbol('cel.fallback')

type Fast = (scope: Record<string, unknown>) => unknown
type Simple = string | boolean | number | bigint | null

interface Node {
  op: string
  args: unknown
}

/**
 * A JSON-like map: a plain object or a null-prototype object. Checked through `constructor`, which
 * is cheaper than `Object.getPrototypeOf`; an own `constructor` key only causes a fallback.
 */
function isMap(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null) return false
  const ctor = (value as { constructor?: unknown }).constructor
  return ctor === Object || ctor === undefined
}

/** Primitive CEL values with JS-identical equality: string, bool, double, int, null. */
function isSimple(value: unknown): value is Simple {
  const t = typeof value
  return t === 'string' || t === 'boolean' || t === 'number' || t === 'bigint' || value === null
}

/** CEL heterogeneous equality restricted to simple values (int and double compare by value). */
function eq(a: Simple, b: Simple): boolean {
  if (a === b) return true
  const ta = typeof a
  const tb = typeof b
  // Loose equality on purpose: an int (bigint) and a double (number) compare by value, as in cel-go.
  return ta !== tb && (ta === 'number' || ta === 'bigint') && (tb === 'number' || tb === 'bigint') && a == b
}

function orderable(a: unknown, b: unknown): boolean {
  const ta = typeof a
  const tb = typeof b
  if (ta === 'string') return tb === 'string'
  return (ta === 'number' || ta === 'bigint') && (tb === 'number' || tb === 'bigint')
}

/** `item in collection` for a string or bool item; FALLBACK for other shapes. */
function member(item: unknown, collection: unknown): boolean | typeof FALLBACK {
  if (typeof item !== 'string' && typeof item !== 'boolean') return FALLBACK
  // Strings and bools equal only values of their own kind, so a miss is a definite false.
  if (Array.isArray(collection)) return collection.includes(item)
  if (typeof item === 'string' && isMap(collection)) {
    return collection[item] !== undefined && (!(item in Object.prototype) || Object.hasOwn(collection, item))
  }
  return FALLBACK
}

const HELPERS = { F: FALLBACK, isMap, isSimple, eq, orderable, member, hasOwn: Object.hasOwn }
const ORDERINGS = new Set(['<', '<=', '>', '>='])
const MAX_INT = 9223372036854775807n

function isNodeLike(value: unknown): value is Node {
  return typeof value === 'object' && value !== null && typeof (value as Node).op === 'string'
}

/** JS source of a simple literal, or undefined. Negated numeric literals are folded. */
function literalSource(node: Node): string | undefined {
  const source = (v: unknown): string | undefined => {
    if (typeof v === 'string' || typeof v === 'boolean' || v === null) return JSON.stringify(v)
    if (typeof v === 'number' && Number.isFinite(v)) return Object.is(v, -0) ? '-0' : String(v)
    if (typeof v === 'bigint' && v <= MAX_INT && v >= -MAX_INT) return `${v}n`
    return undefined
  }
  if (node.op === 'value') return source(node.args)
  if (node.op === '-_' && isNodeLike(node.args) && node.args.op === 'value') {
    const v = node.args.args
    if (typeof v === 'number' || typeof v === 'bigint') return source(-v)
  }
  return undefined
}

class Unsupported extends Error {}

/** Emits statements that leave the value of `node` in a fresh constant and returns its name. */
class CodeGenerator {
  readonly lines: string[] = []
  #next = 0

  constructor(private readonly identifiers: ReadonlySet<string>) {}

  private temp(): string {
    return `t${this.#next++}`
  }

  private pair(node: Node): [Node, Node] {
    const args = node.args
    if (!Array.isArray(args) || args.length !== 2 || !isNodeLike(args[0]) || !isNodeLike(args[1])) throw new Unsupported()
    return [args[0], args[1]]
  }

  emit(node: Node): string {
    const t = this.temp()
    const literal = literalSource(node)
    if (literal !== undefined) {
      this.lines.push(`const ${t} = ${literal};`)
      return t
    }
    switch (node.op) {
      case 'id': {
        const name = node.args
        if (typeof name !== 'string' || !this.identifiers.has(name) || !/^[A-Za-z_]\w*$/.test(name)) throw new Unsupported()
        this.lines.push(`const ${t} = scope.${name};`)
        return t
      }
      case '.':
      case '[]': {
        const [operandNode, keyArg] = node.args as [unknown, unknown]
        let key: unknown = keyArg
        if (node.op === '[]') {
          if (!isNodeLike(keyArg) || keyArg.op !== 'value' || typeof keyArg.args !== 'string') throw new Unsupported()
          key = keyArg.args
        }
        if (!isNodeLike(operandNode) || typeof key !== 'string') throw new Unsupported()
        const obj = this.emit(operandNode)
        const k = JSON.stringify(key)
        // Only names on Object.prototype (`constructor`, ...) can be inherited by a plain map.
        const inherited = key in Object.prototype ? ` || !hasOwn(${obj}, ${k})` : ''
        this.lines.push(`if (!isMap(${obj})) return F;`, `const ${t} = ${obj}[${k}];`, `if (${t} === undefined${inherited}) return F;`)
        return t
      }
      case '==':
      case '!=': {
        const [l, r] = this.pair(node)
        const a = this.emit(l)
        this.lines.push(`if (!isSimple(${a})) return F;`)
        const b = this.emit(r)
        this.lines.push(`if (!isSimple(${b})) return F;`)
        this.lines.push(`const ${t} = ${node.op === '!=' ? '!' : ''}eq(${a}, ${b});`)
        return t
      }
      case 'in': {
        const [l, r] = this.pair(node)
        const a = this.emit(l)
        const b = this.emit(r)
        this.lines.push(`const ${t} = member(${a}, ${b});`, `if (${t} === F) return F;`)
        return t
      }
      case '&&':
      case '||': {
        const [l, r] = this.pair(node)
        const decisive = node.op === '||'
        const a = this.emit(l)
        this.lines.push(`let ${t} = ${decisive};`, `if (${a} !== ${decisive}) {`, `if (${a} !== ${!decisive}) return F;`)
        const b = this.emit(r)
        this.lines.push(`if (typeof ${b} !== 'boolean') return F;`, `${t} = ${b};`, '}')
        return t
      }
      case 'call': {
        // has(x.f) on a map; anything else (lists error, scalars are absent) goes to the library.
        const [name, callArgs] = node.args as [unknown, unknown]
        const selection = Array.isArray(callArgs) && callArgs.length === 1 ? callArgs[0] : undefined
        if (name !== 'has' || !isNodeLike(selection) || selection.op !== '.') throw new Unsupported()
        const [operandNode, key] = selection.args as [unknown, unknown]
        if (!isNodeLike(operandNode) || typeof key !== 'string') throw new Unsupported()
        const obj = this.emit(operandNode)
        const k = JSON.stringify(key)
        const inherited = key in Object.prototype ? ` && hasOwn(${obj}, ${k})` : ''
        this.lines.push(`if (!isMap(${obj})) return F;`, `const ${t} = ${obj}[${k}] !== undefined${inherited};`)
        return t
      }
      case '!_': {
        if (!isNodeLike(node.args)) throw new Unsupported()
        const a = this.emit(node.args)
        this.lines.push(`if (typeof ${a} !== 'boolean') return F;`, `const ${t} = !${a};`)
        return t
      }
      default: {
        if (!ORDERINGS.has(node.op)) throw new Unsupported()
        const [l, r] = this.pair(node)
        const a = this.emit(l)
        const b = this.emit(r)
        // NaN compares false both ways in cel-go, as in JS.
        this.lines.push(`if (!orderable(${a}, ${b})) return F;`, `const ${t} = ${a} ${node.op} ${b};`)
        return t
      }
    }
  }
}

/**
 * Builds the fast function for a parsed (and type-checked) expression, or `undefined` when the
 * expression uses anything outside the supported shapes.
 *
 * @param identifiers - the top-level names the function may read from the scope
 */
export function compileFastPath(root: ASTNode, identifiers: ReadonlySet<string>): Fast | undefined {
  const generator = new CodeGenerator(identifiers)
  let result: string
  try {
    result = generator.emit(root as unknown as Node)
  } catch (err) {
    if (err instanceof Unsupported) return undefined
    throw err
  }
  const body = `'use strict';\nreturn function celFastPath(scope) {\n${generator.lines.join('\n')}\nreturn ${result};\n};`
  const names = Object.keys(HELPERS)
  const factory = new Function(...names, body) as (...helpers: unknown[]) => Fast
  return factory(...names.map((name) => HELPERS[name as keyof typeof HELPERS]))
}
