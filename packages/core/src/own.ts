/**
 * Writes `obj[key] = value` as an own data property whatever the key: assigning to `__proto__`
 * would replace the object's prototype instead (a key from untrusted input must stay inert data).
 * Plain assignment otherwise, so hot-path objects keep their fast shape.
 */
export function setOwn(obj: Record<string, unknown>, key: string, value: unknown): void {
  if (key === '__proto__') Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true })
  else obj[key] = value
}
