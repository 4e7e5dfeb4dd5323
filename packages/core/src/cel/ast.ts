import type { ASTNode } from '@marcbachmann/cel-js'
import { ConditionError } from '../errors.js'

/** A parsed node as the walker sees it: an operator and its operands (nodes, names, literals). */
interface WalkNode {
  op: string
  args: unknown
}

function isNode(value: unknown): value is WalkNode {
  return typeof value === 'object' && value !== null && typeof (value as { op?: unknown }).op === 'string' && 'args' in value
}

/** Calls `visit` on every node of the parsed tree, parents before children. */
export function walk(root: ASTNode, visit: (node: WalkNode) => void): void {
  const stack: unknown[] = [root]
  while (stack.length > 0) {
    const item = stack.pop()
    if (isNode(item)) {
      visit(item)
      stack.push(item.args)
    } else if (Array.isArray(item)) {
      for (const element of item) stack.push(element)
    }
  }
}

function identifierName(node: unknown): string | undefined {
  return isNode(node) && node.op === 'id' && typeof node.args === 'string' ? node.args : undefined
}

/** The key a select (`x.key`, `x.?key`) or a literal-string index (`x["key"]`) reads, with its operand. */
function selection(node: WalkNode): { operand: unknown; key: string } | undefined {
  if (!Array.isArray(node.args)) return undefined
  const [operand, key] = node.args as [unknown, unknown]
  if ((node.op === '.' || node.op === '.?') && typeof key === 'string') return { operand, key }
  if ((node.op === '[]' || node.op === '[?]') && isNode(key) && key.op === 'value' && typeof key.args === 'string') {
    return { operand, key: key.args }
  }
  return undefined
}

/** Names read from the maps bound to the given identifiers (`V.x`, `variables["x"]`, ...). */
export function collectRefs(root: ASTNode, mapNames: ReadonlySet<string>): Set<string> {
  const refs = new Set<string>()
  walkScoped(root, (node, shadowed) => {
    const sel = selection(node)
    const name = sel && identifierName(sel.operand)
    if (sel !== undefined && name !== undefined && mapNames.has(name) && !shadowed.has(name)) refs.add(sel.key)
  })
  return refs
}

/**
 * Like {@link walk}, but tells `visit` which names are bound by enclosing macros at that point
 * (`xs.all(V, V.x)`: inside the predicate `V` is the iteration variable, not the policy's).
 */
export function walkScoped(root: ASTNode, visit: (node: WalkNode, shadowed: ReadonlySet<string>) => void): void {
  const go = (item: unknown, shadowed: ReadonlySet<string>): void => {
    if (Array.isArray(item)) {
      for (const element of item) go(element, shadowed)
      return
    }
    if (!isNode(item)) return
    visit(item, shadowed)
    const bound = boundVariables(item)
    if (bound === undefined) {
      go(item.args, shadowed)
      return
    }
    const inner = new Set([...shadowed, ...bound.names])
    for (const [i, arg] of bound.args.entries()) go(arg, i < bound.firstInner ? shadowed : inner)
    go(bound.receiver, shadowed)
  }
  go(root, new Set())
}

/** Comprehension macros and `cel.bind`: the names they bind and the arguments they bind them in. */
const BINDING_MACROS: ReadonlyMap<string, number> = new Map([
  ['all', 1],
  ['exists', 1],
  ['exists_one', 1],
  ['existsOne', 1],
  ['map', 1],
  ['filter', 1],
  ['sortBy', 1],
  ['optMap', 1],
  ['optFlatMap', 1],
  ['transformList', 2],
  ['transformMap', 2],
  ['transformMapEntry', 2],
  ['bind', 1],
])

function boundVariables(node: WalkNode): { names: string[]; args: unknown[]; receiver: unknown; firstInner: number } | undefined {
  if (node.op !== 'rcall' || !Array.isArray(node.args)) return undefined
  const [name, receiver, args] = node.args as [unknown, unknown, unknown]
  if (typeof name !== 'string' || !Array.isArray(args)) return undefined
  let count = BINDING_MACROS.get(name)
  if (count === undefined) return undefined
  // Two-variable forms: `xs.all(i, v, p)` binds two names.
  if (count === 1 && name !== 'bind' && args.length >= 3 && identifierName(args[1]) !== undefined && ['all', 'exists', 'existsOne'].includes(name)) {
    count = 2
  }
  const names = args.slice(0, count).map(identifierName)
  if (names.some((n) => n === undefined)) return undefined
  // cel.bind(x, init, body): init is evaluated outside the binding.
  return { names: names as string[], args, receiver, firstInner: name === 'bind' ? 2 : count }
}

const CERBOS_MAPS: ReadonlySet<string> = new Set(['V', 'variables', 'C', 'constants', 'G', 'globals'])

/**
 * Cerbos types `V`, `C` and `G` as messages, so `V["x"]` is a compile error there
 * (`found no matching overload for '_[_]' applied to '(cerbos.Variables, string)'`); the same
 * message is raised here so policies that Cerbos rejects are rejected too.
 */
export function rejectIndexedCerbosMaps(root: ASTNode): void {
  walkScoped(root, (node, shadowed) => {
    if ((node.op !== '[]' && node.op !== '[?]') || !Array.isArray(node.args)) return
    const name = identifierName(node.args[0])
    if (name !== undefined && CERBOS_MAPS.has(name) && !shadowed.has(name)) {
      throw new ConditionError("found no matching overload for '_[_]' applied to '(cerbos.Variables, string)'", {
        reason: 'type_error',
      })
    }
  })
}

/** True when `node` is `request.principal`, `request.resource`, `P` or `R`. */
function isPrincipalOrResource(node: unknown): boolean {
  const name = identifierName(node)
  if (name !== undefined) return name === 'P' || name === 'R'
  if (!isNode(node) || node.op !== '.' || !Array.isArray(node.args)) return false
  const [operand, key] = node.args as [unknown, unknown]
  return identifierName(operand) === 'request' && (key === 'principal' || key === 'resource')
}

/**
 * Cerbos accepts both protobuf spellings of its message fields (`request.aux_data`,
 * `R.policy_version`, `runtime.effective_derived_roles`). The activation carries only the JSON
 * spelling, so the snake_case selects are rewritten in place once, at compile time.
 */
export function rewriteProtoFieldNames(root: ASTNode): void {
  walk(root, (node) => {
    if ((node.op !== '.' && node.op !== '.?') || !Array.isArray(node.args)) return
    const args = node.args as [unknown, unknown]
    const [operand, key] = args
    if (key === 'aux_data' && identifierName(operand) === 'request') args[1] = 'auxData'
    else if (key === 'policy_version' && isPrincipalOrResource(operand)) args[1] = 'policyVersion'
    else if (key === 'effective_derived_roles' && identifierName(operand) === 'runtime') args[1] = 'effectiveDerivedRoles'
  })
}

/** The name slot of a call node: `call` is `[name, args]`, `rcall` is `[name, receiver, args]`. */
function callParts(node: WalkNode): { args: unknown[]; callArgs: unknown[] } | undefined {
  if (!Array.isArray(node.args)) return undefined
  if (node.op === 'call') return { args: node.args, callArgs: (node.args[1] as unknown[] | undefined) ?? [] }
  if (node.op === 'rcall') return { args: node.args, callArgs: (node.args[2] as unknown[] | undefined) ?? [] }
  return undefined
}

/**
 * Points calls at the environment's replacements for library built-ins that cannot be
 * re-registered: `matches` (RE2 instead of JS RegExp) and the zoned timestamp getters
 * (`ts.getHours("-05:00")`). `renames` maps a function name to its replacement; `oneArgRenames`
 * applies only to method calls with exactly one argument.
 */
export function renameCalls(
  root: ASTNode,
  renames: ReadonlyMap<string, string>,
  oneArgRenames: ReadonlyMap<string, string>,
): void {
  walk(root, (node) => {
    const parts = callParts(node)
    if (parts === undefined || typeof parts.args[0] !== 'string') return
    const name = parts.args[0]
    const renamed = renames.get(name) ?? (node.op === 'rcall' && parts.callArgs.length === 1 ? oneArgRenames.get(name) : undefined)
    if (renamed !== undefined) parts.args[0] = renamed
  })
}

/**
 * Calls `check` with every string-literal argument of calls named `name`: the last argument of
 * the global form (`matches(text, "re")`, `duration("1h")`) and the first of the method form
 * (`text.matches("re")`).
 */
export function forEachLiteralArgument(root: ASTNode, name: string, check: (literal: string) => void): void {
  walk(root, (node) => {
    const parts = callParts(node)
    if (parts === undefined || parts.args[0] !== name) return
    const argument = node.op === 'rcall' ? parts.callArgs[0] : parts.callArgs[parts.callArgs.length - 1]
    if (isNode(argument) && argument.op === 'value' && typeof argument.args === 'string') check(argument.args)
  })
}

/** An attribute path an expression reads: `request.resource.attr.owner.id` is `resource` and `['owner', 'id']`. */
export interface AttributeRead {
  readonly of: 'principal' | 'resource'
  readonly path: readonly string[]
}

/** `P.attr`, `R.attr`, `request.principal.attr` or `request.resource.attr`: whose attributes, if it is one. */
function attributesOf(node: unknown, shadowed: ReadonlySet<string>): 'principal' | 'resource' | undefined {
  if (!isNode(node)) return undefined
  const sel = selection(node)
  if (sel?.key !== 'attr') return undefined
  const short = identifierName(sel.operand)
  if (short !== undefined) {
    if (shadowed.has(short)) return undefined
    return short === 'P' ? 'principal' : short === 'R' ? 'resource' : undefined
  }
  const inner = isNode(sel.operand) ? selection(sel.operand) : undefined
  if (inner === undefined || identifierName(inner.operand) !== 'request' || shadowed.has('request')) return undefined
  return inner.key === 'principal' || inner.key === 'resource' ? inner.key : undefined
}

/**
 * Every attribute path read with literal keys (`R.attr.owner.id`, `P.attr["dept"]`), longest
 * first; a path that only continues into a longer one read elsewhere is listed too.
 */
export function collectAttributeReads(root: ASTNode): AttributeRead[] {
  const reads = new Map<string, AttributeRead>()
  walkScoped(root, (node, shadowed) => {
    const keys: string[] = []
    let current: unknown = node
    for (;;) {
      const of = attributesOf(current, shadowed)
      if (of !== undefined) {
        if (keys.length > 0) reads.set(`${of}\0${keys.join('\0')}`, { of, path: keys.reverse() })
        return
      }
      const sel = isNode(current) ? selection(current) : undefined
      if (sel === undefined) return
      keys.push(sel.key)
      current = sel.operand
    }
  })
  return [...reads.values()].sort((a, b) => b.path.length - a.path.length)
}
