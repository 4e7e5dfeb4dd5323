import { Duration, UnsignedInt } from '@marcbachmann/cel-js/evaluator'
import { Optional } from '@marcbachmann/cel-js'
import { ConditionError } from '../errors.js'

/** The JS classes the CEL library uses for `uint`, `duration` and optionals. */
export { Duration, UnsignedInt, Optional }

/** Throws the error a CEL function reports for a bad argument value. */
export function invalidArgument(message: string): never {
  throw new ConditionError(message, { reason: 'invalid_argument' })
}

function isPlainMap(value: object): value is Record<string, unknown> {
  const proto: unknown = Object.getPrototypeOf(value)
  return proto === Object.prototype || proto === null
}

function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false
  return true
}

function mapEntries(value: Map<unknown, unknown> | Record<string, unknown>): Array<[unknown, unknown]> {
  return value instanceof Map ? [...value.entries()] : Object.entries(value)
}

function numericValue(value: unknown): number | bigint | undefined {
  if (typeof value === 'number' || typeof value === 'bigint') return value
  if (value instanceof UnsignedInt) return value.valueOf()
  return undefined
}

/**
 * CEL run-time equality with cel-go's heterogeneous semantics: numbers of any kind compare by
 * value (`dyn(1) == 1.0`), values of different kinds are unequal (never an error), lists and maps
 * compare element-wise.
 */
export function celEquals(a: unknown, b: unknown): boolean {
  if (a === b) return typeof a !== 'number' || !Number.isNaN(a)
  const na = numericValue(a)
  if (na !== undefined) {
    const nb = numericValue(b)
    // Loose equality on purpose: bigint and number compare by value.
    return nb !== undefined && na == nb
  }
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false
  if (a instanceof Date) return b instanceof Date && a.getTime() === b.getTime()
  if (a instanceof Duration) {
    return b instanceof Duration && a.seconds === b.seconds && a.nanos === b.nanos
  }
  if (a instanceof Uint8Array) return b instanceof Uint8Array && bytesEqual(a, b)
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false
    for (let i = 0; i < a.length; i++) if (!celEquals(a[i], b[i])) return false
    return true
  }
  const aIsMap = a instanceof Map || isPlainMap(a)
  const bIsMap = b instanceof Map || isPlainMap(b)
  if (aIsMap && bIsMap) {
    const ea = mapEntries(a as Record<string, unknown>)
    const eb = mapEntries(b as Record<string, unknown>)
    if (ea.length !== eb.length) return false
    for (const [key, value] of ea) {
      const match = eb.find(([otherKey]) => celEquals(key, otherKey))
      if (match === undefined || !celEquals(value, match[1])) return false
    }
    return true
  }
  if (a instanceof Optional && b instanceof Optional) {
    const av = a.hasValue()
    return av === b.hasValue() && (!av || celEquals(a.value(), b.value()))
  }
  return false
}

/** `index` of a CEL int argument as a JS number (arguments arrive as bigint). */
export function toIndex(value: bigint | number): number {
  return typeof value === 'bigint' ? Number(value) : value
}
