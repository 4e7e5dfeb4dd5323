import type { ASTNode } from '@marcbachmann/cel-js'
import { CelFailure } from './failure.js'

/**
 * A direct JS function for the simple shapes most Cerbos conditions have (field paths, literals,
 * `==`, `!=`, ordering, `in`, `&&`, `||`, `!`, `has()` on a map). It handles only values whose CEL semantics are
 * unambiguous in JS (strings, booleans, doubles, ints, null, plain-object maps, arrays) and returns
 * {@link FALLBACK} for anything else (a list compared with `==`, a uint, ...), in which case the
 * caller evaluates with the CEL library. Evaluation has no side effects, so re-evaluating is safe.
 *
 * Errors: every node except `&&`, `||` and `has()` propagates the first error met in evaluation
 * order (left to right, operands first), as the library does, and the generated code reads in that
 * same order. So a missing map key outside those three returns the library's failure (`no such
 * key: k`) directly, and when the expression contains none of them, anything the reads throw (a
 * failed variable) is exactly the library's error too ({@link FastPath.failuresAreExact}). Under
 * `&&`/`||` (which cel-go lets a decisive operand absorb an error) and `has()` the library decides.
 *
 * The function is generated source (one per expression) so that every field read is a named
 * property load with its own inline cache; shared closures made those reads megamorphic and 10x
 * slower. Only JSON-encoded literals and the fixed Cerbos identifiers are spliced into the source.
 */
export const FALLBACK: unique symbol = Symbol('cel.fallback')

type Fast = (scope: Record<string, unknown>) => unknown

/** A compiled fast path. */
export interface FastPath {
  /** Returns the value, a {@link CelFailure} (missing key), or {@link FALLBACK}. */
  readonly run: Fast
  /** Whether an exception thrown by `run` is exactly the failure the library would report. */
  readonly failuresAreExact: boolean
}
type Simple = string | boolean | number | bigint | null

interface Node {
  op: string
  args: unknown
}

/**
 * A JSON-like map: a plain object or a null-prototype object whose `constructor` reads as the
 * library's map test expects (an own `constructor` key falls back to the library, which decides it).
 * The prototype is checked too: an object whose prototype chain holds values
 * (`Object.create({ admin: true })`) answers `constructor === Object` as well, and reading its
 * fields here would hand inherited values to a condition.
 */
function isMap(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null) return false
  const ctor = (value as { constructor?: unknown }).constructor
  if (ctor !== Object && ctor !== undefined) return false
  const proto: unknown = Object.getPrototypeOf(value)
  return proto === Object.prototype || proto === null
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
/** Name of the generated function's parameter holding its prebuilt failures. */
const FAILURES = 'failures'
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
  /** Prebuilt failures the code returns, by index (immutable, shared by every evaluation). */
  readonly failures: CelFailure[] = []
  /** Whether the expression has a node that may absorb an error (`&&`, `||`, `has()`). */
  absorbs = false
  #next = 0
  /** How many `&&`/`||`/`has()` nodes enclose the node being emitted. */
  #absorbing = 0

  constructor(private readonly identifiers: ReadonlySet<string>) {}

  private temp(): string {
    return `t${this.#next++}`
  }

  /** Emits `node` as an operand of a node that may absorb its error. */
  private emitAbsorbed(node: Node): string {
    this.absorbs = true
    this.#absorbing++
    try {
      return this.emit(node)
    } finally {
      this.#absorbing--
    }
  }

  /** The statement for a key missing from a map: the library's failure, or the library itself. */
  private missingKey(key: string): string {
    if (this.#absorbing > 0) return 'return F;'
    const failure = CelFailure.noSuchKey(key)
    let index = this.failures.findIndex((f) => f.message === failure.message)
    if (index < 0) index = this.failures.push(failure) - 1
    return `return ${FAILURES}[${index}];`
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
        this.lines.push(`if (!isMap(${obj})) return F;`, `const ${t} = ${obj}[${k}];`, `if (${t} === undefined${inherited}) ${this.missingKey(key)}`)
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
        const a = this.emitAbsorbed(l)
        this.lines.push(`let ${t} = ${decisive};`, `if (${a} !== ${decisive}) {`, `if (${a} !== ${!decisive}) return F;`)
        const b = this.emitAbsorbed(r)
        this.lines.push(`if (typeof ${b} !== 'boolean') return F;`, `${t} = ${b};`, '}')
        return t
      }
      case 'call': {
        // has(x.f) on a map; anything else (lists error, scalars are absent) goes to the library.
        const [name, callArgs] = node.args as [unknown, unknown]
        const selection: unknown = Array.isArray(callArgs) && callArgs.length === 1 ? callArgs[0] : undefined
        if (name !== 'has' || !isNodeLike(selection) || selection.op !== '.') throw new Unsupported()
        const [operandNode, key] = selection.args as [unknown, unknown]
        if (!isNodeLike(operandNode) || typeof key !== 'string') throw new Unsupported()
        const obj = this.emitAbsorbed(operandNode)
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

/** Operators whose evaluation starts with their left operand (the library's `evaluateBinary`). */
const LEFT_FIRST = new Set(['==', '!=', '<', '<=', '>', '>=', 'in', '+', '-', '*', '/', '%'])

interface Meta {
  macro?: unknown
  alternate?: unknown
}

/** Whether the library evaluates `node` with its own code for `node.op` (no macro, no replacement). */
function plainNode(node: Node): boolean {
  const meta = (node as { meta?: Meta }).meta
  return meta === undefined || (meta.macro === undefined && meta.alternate === undefined)
}

/** The first of `nodes` that is not a literal (literals cannot fail), or undefined. */
function firstNonLiteral(nodes: readonly unknown[]): Node | undefined {
  for (const node of nodes) {
    if (!isNodeLike(node)) return undefined
    if (node.op !== 'value') return node
  }
  return undefined
}

/**
 * The child whose evaluation comes first in `node` and whose failure is the node's failure (nothing
 * evaluated before it can fail, and `node` does not absorb errors), or undefined. Function
 * arguments are evaluated last to first, and a method's receiver after its arguments.
 */
function firstEvaluated(node: Node): Node | undefined {
  if (!plainNode(node)) return undefined
  const args = node.args
  switch (node.op) {
    case '?:':
    case '.':
    case '[]':
      return Array.isArray(args) && isNodeLike(args[0]) ? args[0] : undefined
    case '!_':
    case '-_':
      return isNodeLike(args) ? args : undefined
    case 'call': {
      const list = Array.isArray(args) ? (args[1] as unknown) : undefined
      return Array.isArray(list) ? firstNonLiteral([...(list as unknown[])].reverse()) : undefined
    }
    case 'rcall': {
      const [, receiver, list] = Array.isArray(args) ? (args as unknown[]) : []
      return Array.isArray(list) ? firstNonLiteral([...(list as unknown[])].reverse().concat([receiver])) : undefined
    }
    default:
      return LEFT_FIRST.has(node.op) && Array.isArray(args) && isNodeLike(args[0]) ? args[0] : undefined
  }
}

/** Whether `node` is a selection path: `.f` / `["f"]` steps down to a scope identifier. */
function isSelectionPath(node: Node, identifiers: ReadonlySet<string>): boolean {
  for (let current: Node = node; ; ) {
    if (!plainNode(current)) return false
    if (current.op === 'id') return current !== node && typeof current.args === 'string' && identifiers.has(current.args)
    if (current.op !== '.' && current.op !== '[]') return false
    const [operand, key] = current.args as [unknown, unknown]
    if (current.op === '[]' && !(isNodeLike(key) && key.op === 'value' && typeof key.args === 'string')) return false
    if (!isNodeLike(operand)) return false
    current = operand
  }
}

/**
 * For an expression the fast path cannot take (`P.attr.ip.inIPAddrRange("10.0.0.0/8") ? "a" :
 * "b"`): a guard over the selection path the library evaluates first, when nothing evaluated before
 * it can fail and nothing between it and the root can absorb its error. A missing key there is the
 * expression's failure (returned without running the library, which builds and throws an Error for
 * it); otherwise the guard returns {@link FALLBACK} and the library evaluates as usual.
 */
export function compileLeadingPathGuard(root: ASTNode, identifiers: ReadonlySet<string>): FastPath | undefined {
  let node: Node | undefined = root
  while (node !== undefined && !isSelectionPath(node, identifiers)) node = firstEvaluated(node)
  if (node === undefined) return undefined
  const generator = new CodeGenerator(identifiers)
  try {
    generator.emit(node)
  } catch (err) {
    if (err instanceof Unsupported) return undefined
    throw err
  }
  return { run: build(generator, 'F'), failuresAreExact: true }
}

/** Compiles the generated statements into a function returning `result` at the end. */
function build(generator: CodeGenerator, result: string): Fast {
  const body = `'use strict';\nreturn function celFastPath(scope) {\n${generator.lines.join('\n')}\nreturn ${result};\n};`
  const names = Object.keys(HELPERS)
  // eslint-disable-next-line @typescript-eslint/no-implied-eval -- compiling CEL to JS is the fast path; the body is generated by the compiler above
  const factory = new Function(...names, FAILURES, body) as (...helpers: unknown[]) => Fast
  return factory(...names.map((name) => HELPERS[name as keyof typeof HELPERS]), Object.freeze(generator.failures))
}

/**
 * Builds the fast function for a parsed (and type-checked) expression, or `undefined` when the
 * expression uses anything outside the supported shapes.
 *
 * @param identifiers - the top-level names the function may read from the scope
 */
export function compileFastPath(root: ASTNode, identifiers: ReadonlySet<string>): FastPath | undefined {
  const generator = new CodeGenerator(identifiers)
  let result: string
  try {
    result = generator.emit(root)
  } catch (err) {
    if (err instanceof Unsupported) return undefined
    throw err
  }
  return { run: build(generator, result), failuresAreExact: !generator.absorbs }
}
