import type { ASTNode } from '@marcbachmann/cel-js'

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
  walk(root, (node) => {
    const sel = selection(node)
    if (sel === undefined) return
    const name = identifierName(sel.operand)
    if (name !== undefined && mapNames.has(name)) refs.add(sel.key)
  })
  return refs
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
