/**
 * The planner's logical tree over residual expressions (Cerbos's `PlanResourcesAst.Node`): rule
 * conditions combined with and/or/not per role, scope and policy type.
 */
import { call, constBool, FALSE, lit, TRUE, type RExpr } from './residual.js'

/** A node: one residual expression, or a logical operation over nodes. */
export type PlanNode = { readonly k: 'expr'; readonly e: RExpr } | { readonly k: 'and' | 'or' | 'not'; readonly nodes: readonly PlanNode[] }

export const exprNode = (e: RExpr): PlanNode => ({ k: 'expr', e })
export const trueNode = (): PlanNode => exprNode(TRUE)
export const falseNode = (): PlanNode => exprNode(FALSE)

/** The constant a node stands for, if it is a bare `true`/`false`. */
export function nodeConstBool(node: PlanNode | undefined): boolean | undefined {
  return node?.k === 'expr' ? constBool(node.e) : undefined
}

/** A stable text of a value or tree (map entries sorted), for de-duplication. */
export function canonical(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => {
    if (typeof v === 'bigint') return `${v}n`
    if (v instanceof Date) return `ts:${v.toISOString()}`
    if (v instanceof Uint8Array) return `b:${Buffer.from(v).toString('base64')}`
    if (v && typeof v === 'object' && (v as { k?: unknown }).k === 'map') {
      const m = v as Extract<RExpr, { k: 'map' }>
      return { k: 'map', entries: [...m.entries].map((pair) => [canonical(pair[0]), canonical(pair[1])]).sort() }
    }
    return v
  })
}

function dedup(nodes: readonly PlanNode[]): PlanNode[] {
  const seen = new Set<string>()
  const out: PlanNode[] = []
  for (const n of nodes) {
    const key = canonical(n)
    if (seen.has(key)) continue
    seen.add(key)
    out.push(n)
  }
  return out
}

/** OR of the distinct nodes; one node is itself. */
export function orNode(nodes: readonly PlanNode[]): PlanNode | undefined {
  const unique = dedup(nodes)
  if (unique.length <= 1) return unique[0]
  return { k: 'or', nodes: unique }
}

/** AND of the distinct nodes; one node is itself. */
export function andNode(nodes: readonly PlanNode[]): PlanNode | undefined {
  const unique = dedup(nodes)
  if (unique.length <= 1) return unique[0]
  return { k: 'and', nodes: unique }
}

/** NOT of a node; NOT of a NOT is stripped (several operands become their AND). */
export function invert(node: PlanNode): PlanNode {
  if (node.k === 'not') return node.nodes.length === 1 ? node.nodes[0]! : { k: 'and', nodes: node.nodes }
  return { k: 'not', nodes: [node] }
}

/** Appends `next` to `curr` with `combine`; either may be absent. */
export function addNode(curr: PlanNode | undefined, next: PlanNode | undefined, combine: (nodes: PlanNode[]) => PlanNode | undefined): PlanNode | undefined {
  if (next === undefined) return curr
  if (curr === undefined) return next
  return combine([curr, next])
}

/** Right-nested binary chain, as Cerbos turns an n-ary node back into an expression. */
function binaryChain(op: string, args: readonly RExpr[]): RExpr {
  if (args.length === 2) return call(op, [args[0]!, args[1]!])
  return call(op, [args[0]!, binaryChain(op, args.slice(1))])
}

/** The node as one residual expression (for the derived-roles list). */
export function nodeToExpr(node: PlanNode): RExpr {
  switch (node.k) {
    case 'expr':
      return node.e
    case 'not':
      return call('!_', [nodeToExpr(node.nodes[0]!)])
    default: {
      const args = node.nodes.map(nodeToExpr)
      return args.length === 1 ? args[0]! : binaryChain(node.k === 'and' ? '&&' : '||', args)
    }
  }
}

/**
 * `runtime.effectiveDerivedRoles` as Cerbos substitutes it while planning: each derived role in
 * name order as `cond ? ["role"] : []`, joined with `+`.
 */
export function derivedRolesExpr(roles: ReadonlyArray<{ name: string; node: PlanNode }>): RExpr {
  if (roles.length === 0) return { k: 'list', elems: [] }
  const elems = roles.map((r) => call('?:', [nodeToExpr(r.node), { k: 'list', elems: [lit(r.name)] }, { k: 'list', elems: [] }]))
  return elems.length === 1 ? elems[0]! : binaryChain('+', elems)
}
