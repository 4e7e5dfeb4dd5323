/**
 * Cache keys made of several strings. Each part is written with its length first, so no two tuples
 * share a key whatever characters their parts hold (a separator such as NUL can occur inside a kind,
 * an action or an id, and would let one request answer for another).
 */
export function tupleKey(parts: readonly string[]): string {
  let key = ''
  for (const part of parts) key += `${part.length}:${part}`
  return key
}
