/**
 * Writes `obj[key] = value` as an own data property whatever the key: assigning to `__proto__`
 * would replace the object's prototype instead (a key from untrusted input must stay inert data).
 * Plain assignment otherwise, so hot-path objects keep their fast shape.
 */
export function setOwn(obj: Record<string, unknown>, key: string, value: unknown): void {
  if (key === '__proto__') Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true })
  else obj[key] = value
}

/**
 * An object for attributes built from untrusted JSON: no prototype, so a key named `__proto__`,
 * `constructor` or `prototype` is inert data and nothing can be inherited.
 */
export function bareRecord(): Record<string, unknown> {
  return Object.create(null) as Record<string, unknown>
}
