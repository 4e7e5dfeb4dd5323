/** Structural equality of JSON values: object key order is ignored, numbers compare as doubles. */
export function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true
  if (a === null || b === null || typeof a !== 'object' || typeof b !== 'object') {
    // A missing value and null are the same JSON value (`val` absent means null in protobuf Value).
    return (a ?? null) === (b ?? null)
  }
  if (Array.isArray(a) || Array.isArray(b)) {
    return Array.isArray(a) && Array.isArray(b) && a.length === b.length && a.every((item, i) => jsonEqual(item, b[i]))
  }
  const ak = Object.keys(a)
  const bk = Object.keys(b)
  if (ak.length !== bk.length) return false
  const bo = b as Record<string, unknown>
  const ao = a as Record<string, unknown>
  return ak.every((k) => Object.hasOwn(bo, k) && jsonEqual(ao[k], bo[k]))
}
