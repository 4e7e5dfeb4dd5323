/**
 * Comparing query plans with the Cerbos PDP's. Cerbos builds some operand lists from Go maps, so
 * their order varies from run to run; like Cerbos's own tests, plans are compared with the operands
 * of commutative operators (and, or, eq, ne, add, mult) and struct fields in a fixed order. The
 * `filterDebug` text is compared as the multiset of its characters for the same reason, and
 * validation errors in (source, path, message) order.
 */

const COMMUTATIVE = new Set(['and', 'or', 'eq', 'ne', 'add', 'mult', 'struct'])

/**
 * An operand with the operands of commutative operators sorted. With `flatten`, nested `and`s
 * (`or`s) are merged into one: Cerbos meets the rows of a rule's derived roles in Go map order,
 * fixed when the PDP starts, so their grouping varies from one PDP process to the next.
 */
export function stabiliseOperand(op: unknown, flatten = false): unknown {
  if (typeof op !== 'object' || op === null || !('expression' in op)) return op
  const { operator, operands } = (op as { expression: { operator: string; operands?: unknown[] } }).expression
  let out = (operands ?? []).map((o) => stabiliseOperand(o, flatten))
  if (flatten && (operator === 'and' || operator === 'or')) {
    out = out.flatMap((o) => {
      const inner = (o as { expression?: { operator: string; operands?: unknown[] } }).expression
      return inner?.operator === operator ? (inner.operands ?? []) : [o]
    })
  }
  if (COMMUTATIVE.has(operator)) out = [...out].sort((a, b) => (JSON.stringify(a) < JSON.stringify(b) ? -1 : JSON.stringify(a) > JSON.stringify(b) ? 1 : 0))
  return { expression: out.length > 0 ? { operator, operands: out } : { operator } }
}

/** A filter (`{kind, condition?}`) in comparable form. */
export function stabiliseFilter(filter: unknown, flatten = false): unknown {
  const f = JSON.parse(JSON.stringify(filter ?? null)) as { kind?: string; condition?: unknown } | null
  if (f === null) return null
  return f.condition === undefined ? { kind: f.kind } : { kind: f.kind, condition: stabiliseOperand(f.condition, flatten) }
}

/** A whole PlanResources response body in comparable form (`cerbosCallId` dropped). */
export function stabilisePlanResponse(response: unknown, flatten = false): unknown {
  const r = JSON.parse(JSON.stringify(response)) as Record<string, unknown>
  delete r['cerbosCallId']
  if ('filter' in r) r['filter'] = stabiliseFilter(r['filter'], flatten)
  const meta = r['meta'] as { filterDebug?: string } | undefined
  if (meta?.filterDebug !== undefined) meta.filterDebug = Array.from(meta.filterDebug).sort().join('')
  // Validation errors in (source, path, message) order, as Cerbos's own harness compares them.
  const errors = r['validationErrors'] as Array<{ source: string; path: string; message: string }> | undefined
  if (errors) r['validationErrors'] = [...errors].sort((a, b) => (`${a.source}\0${a.path}\0${a.message}` < `${b.source}\0${b.path}\0${b.message}` ? -1 : 1))
  return r
}
