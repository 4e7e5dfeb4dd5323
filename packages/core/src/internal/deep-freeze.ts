/**
 * Freezes a JSON-like value in place, iteratively (claims can nest deeply). Subtrees already frozen
 * are not walked again, so freezing a value built around shared frozen parts costs only the new parts.
 */
export function deepFreeze<T>(value: T): T {
  const stack: unknown[] = [value]
  while (stack.length > 0) {
    const item = stack.pop()
    if (typeof item !== 'object' || item === null || Object.isFrozen(item)) continue
    Object.freeze(item)
    for (const child of Object.values(item)) stack.push(child)
  }
  return value
}
