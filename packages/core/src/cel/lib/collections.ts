import type { Environment } from '@marcbachmann/cel-js'
import { ConditionError } from '../../errors.js'
import { celEquals, Duration, UnsignedInt, invalidArgument, toIndex } from '../values.js'

/** Orders two CEL values of the same orderable kind; mixed kinds (other than numbers) are an error. */
export function celCompare(a: unknown, b: unknown): number {
  const num = (v: unknown): number | bigint | undefined =>
    typeof v === 'number' || typeof v === 'bigint' ? v : v instanceof UnsignedInt ? v.valueOf() : undefined
  const na = num(a)
  const nb = num(b)
  if (na !== undefined && nb !== undefined) return na < nb ? -1 : na > nb ? 1 : 0
  if (typeof a === 'string' && typeof b === 'string') return a < b ? -1 : a > b ? 1 : 0
  if (typeof a === 'boolean' && typeof b === 'boolean') return Number(a) - Number(b)
  if (a instanceof Date && b instanceof Date) return a.getTime() - b.getTime()
  if (a instanceof Duration && b instanceof Duration) return a.valueOf() - b.valueOf()
  throw new ConditionError('no such overload: values are not comparable', { reason: 'no_such_overload' })
}

/** Stable sort with CEL ordering. */
export function sortList(list: readonly unknown[]): unknown[] {
  return [...list].sort(celCompare)
}

function distinct(list: readonly unknown[]): unknown[] {
  const out: unknown[] = []
  for (const item of list) if (!out.some((seen) => celEquals(seen, item))) out.push(item)
  return out
}

function flatten(list: readonly unknown[], depth: bigint = 1n): unknown[] {
  if (depth < 0n) invalidArgument('level must be non-negative')
  const out: unknown[] = []
  for (const item of list) {
    if (Array.isArray(item) && depth > 0n) out.push(...flatten(item, depth - 1n))
    else out.push(item)
  }
  return out
}

function slice(list: readonly unknown[], start: bigint, end: bigint): unknown[] {
  const s = toIndex(start)
  const e = toIndex(end)
  if (s < 0 || e < 0) invalidArgument(`cannot slice(${s}, ${e}), negative indexes not supported`)
  if (s > e) invalidArgument(`cannot slice(${s}, ${e}), start index must be less than or equal to end index`)
  if (e > list.length) invalidArgument(`cannot slice(${s}, ${e}), list is length ${list.length}`)
  return list.slice(s, e)
}

/**
 * The largest list `lists.range(n)` builds. cel-go has no cap, but `n` may come from request data,
 * and an unbounded allocation would take the process down; beyond this the call fails (deny).
 */
export const MAX_RANGE = 1_000_000

function range(n: bigint): bigint[] {
  if (n > BigInt(MAX_RANGE)) invalidArgument(`lists.range(${n}) exceeds the limit of ${MAX_RANGE} elements`)
  const out: bigint[] = []
  for (let i = 0n; i < n; i++) out.push(i)
  return out
}

function extreme(args: readonly unknown[], pick: (cmp: number) => boolean, name: string): unknown {
  const values = args.length === 1 && Array.isArray(args[0]) ? (args[0] as unknown[]) : args
  if (values.length === 0) invalidArgument(`math.${name}(list) argument must not be empty`)
  let best = values[0]
  for (const v of values.slice(1)) {
    if (typeof v !== 'number' && typeof v !== 'bigint' && !(v instanceof UnsignedInt)) {
      throw new ConditionError(`no such overload: math.${name}`, { reason: 'no_such_overload' })
    }
    if (pick(celCompare(v, best))) best = v
  }
  if (typeof best !== 'number' && typeof best !== 'bigint' && !(best instanceof UnsignedInt)) {
    throw new ConditionError(`no such overload: math.${name}`, { reason: 'no_such_overload' })
  }
  return best
}

/** Go `math.Round`: halves away from zero. */
function roundHalfAway(x: number): number {
  return x < 0 ? -Math.round(-x) : Math.round(x)
}

function bitsOf(value: bigint): bigint {
  return BigInt.asIntN(64, value)
}

function toBase64(value: Uint8Array): string {
  return Buffer.from(value).toString('base64')
}

function fromBase64(text: string): Uint8Array {
  const normalized = text.replace(/=+$/, '')
  if (!/^[A-Za-z0-9+/]*$/.test(normalized) || normalized.length % 4 === 1) invalidArgument('illegal base64 data')
  return new Uint8Array(Buffer.from(normalized, 'base64'))
}

/** JSON for `json.encode`: CEL ints as JSON numbers, bytes as base64, timestamps as RFC 3339. */
function toJson(value: unknown): unknown {
  if (typeof value === 'bigint') return Number(value)
  if (value instanceof UnsignedInt) return Number(value.valueOf())
  if (value instanceof Uint8Array) return toBase64(value)
  if (value instanceof Date) return value.toISOString()
  if (value instanceof Duration) return value.toString()
  if (Array.isArray(value)) return value.map(toJson)
  if (value instanceof Map) return Object.fromEntries([...value.entries()].map(([k, v]) => [String(k), toJson(v)]))
  if (typeof value === 'object' && value !== null) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, toJson(v)]))
  }
  return value
}

class SetsNamespace {}
class ListsNamespace {}
class MathNamespace {}
class Base64Namespace {}
class JsonNamespace {}

/** Registers cel-go's lists, sets, math and encoders extensions. */
export function registerCollections(env: Environment): void {
  env.registerFunction('list.sort(): list', sortList)
  env.registerFunction('list.distinct(): list', distinct)
  env.registerFunction('list.flatten(): list', (l: unknown[]) => flatten(l))
  env.registerFunction('list.flatten(int): list', flatten)
  env.registerFunction('list.slice(int, int): list', slice)
  env.registerFunction('list.reverse(): list', (l: unknown[]) => [...l].reverse())
  env.registerType('ListsNamespace', ListsNamespace)
  env.registerConstant('lists', 'ListsNamespace', new ListsNamespace())
  env.registerFunction('ListsNamespace.range(int): list<int>', (_: unknown, n: bigint) => range(n))

  env.registerType('SetsNamespace', SetsNamespace)
  env.registerConstant('sets', 'SetsNamespace', new SetsNamespace())
  const contains = (a: unknown[], b: unknown[]): boolean => b.every((x) => a.some((y) => celEquals(x, y)))
  env.registerFunction('SetsNamespace.contains(list, list): bool', (_: unknown, a: unknown[], b: unknown[]) => contains(a, b))
  env.registerFunction('SetsNamespace.equivalent(list, list): bool', (_: unknown, a: unknown[], b: unknown[]) =>
    contains(a, b) && contains(b, a),
  )
  env.registerFunction('SetsNamespace.intersects(list, list): bool', (_: unknown, a: unknown[], b: unknown[]) =>
    a.some((x) => b.some((y) => celEquals(x, y))),
  )

  env.registerType('MathNamespace', MathNamespace)
  env.registerConstant('math', 'MathNamespace', new MathNamespace())
  for (const [name, pick] of [
    ['greatest', (c: number) => c > 0],
    ['least', (c: number) => c < 0],
  ] as const) {
    for (let arity = 1; arity <= 6; arity++) {
      const params = new Array<string>(arity).fill('dyn').join(', ')
      env.registerFunction(`MathNamespace.${name}(${params}): dyn`, (_: unknown, ...args: unknown[]) => extreme(args, pick, name))
    }
  }
  const doubleFns: Array<[string, (x: number) => number | boolean, string]> = [
    ['ceil', Math.ceil, 'double'],
    ['floor', Math.floor, 'double'],
    ['round', roundHalfAway, 'double'],
    ['trunc', Math.trunc, 'double'],
    ['isInf', (x) => x === Infinity || x === -Infinity, 'bool'],
    ['isNaN', Number.isNaN, 'bool'],
    ['isFinite', Number.isFinite, 'bool'],
    ['sqrt', Math.sqrt, 'double'],
  ]
  for (const [name, fn, result] of doubleFns) {
    env.registerFunction(`MathNamespace.${name}(double): ${result}`, (_: unknown, x: number) => fn(x))
  }
  env.registerFunction('MathNamespace.sqrt(int): double', (_: unknown, x: bigint) => Math.sqrt(Number(x)))
  env.registerFunction('MathNamespace.abs(double): double', (_: unknown, x: number) => Math.abs(x))
  env.registerFunction('MathNamespace.abs(int): int', (_: unknown, x: bigint) => {
    if (x === -(2n ** 63n)) throw new ConditionError('integer overflow', { reason: 'numeric_overflow' })
    return x < 0n ? -x : x
  })
  env.registerFunction('MathNamespace.sign(double): double', (_: unknown, x: number) => (Number.isNaN(x) ? x : Math.sign(x)))
  env.registerFunction('MathNamespace.sign(int): int', (_: unknown, x: bigint) => (x > 0n ? 1n : x < 0n ? -1n : 0n))
  const u = (v: bigint): InstanceType<typeof UnsignedInt> => new UnsignedInt(BigInt.asUintN(64, v))
  const ub = (v: InstanceType<typeof UnsignedInt>): bigint => v.valueOf()
  type U = InstanceType<typeof UnsignedInt>
  env.registerFunction('MathNamespace.abs(uint): uint', (_: unknown, x: U) => x)
  env.registerFunction('MathNamespace.sign(uint): uint', (_: unknown, x: U) => u(ub(x) > 0n ? 1n : 0n))
  env.registerFunction('MathNamespace.bitAnd(uint, uint): uint', (_: unknown, a: U, b: U) => u(ub(a) & ub(b)))
  env.registerFunction('MathNamespace.bitOr(uint, uint): uint', (_: unknown, a: U, b: U) => u(ub(a) | ub(b)))
  env.registerFunction('MathNamespace.bitXor(uint, uint): uint', (_: unknown, a: U, b: U) => u(ub(a) ^ ub(b)))
  env.registerFunction('MathNamespace.bitNot(uint): uint', (_: unknown, a: U) => u(~ub(a)))
  env.registerFunction('MathNamespace.bitShiftLeft(uint, int): uint', (_: unknown, a: U, n: bigint) => {
    if (n < 0n) invalidArgument(`math.bitShiftLeft() negative offset: ${n}`)
    return u(n > 63n ? 0n : ub(a) << n)
  })
  env.registerFunction('MathNamespace.bitShiftRight(uint, int): uint', (_: unknown, a: U, n: bigint) => {
    if (n < 0n) invalidArgument(`math.bitShiftRight() negative offset: ${n}`)
    return u(n > 63n ? 0n : ub(a) >> n)
  })
  env.registerFunction('MathNamespace.bitAnd(int, int): int', (_: unknown, a: bigint, b: bigint) => a & b)
  env.registerFunction('MathNamespace.bitOr(int, int): int', (_: unknown, a: bigint, b: bigint) => a | b)
  env.registerFunction('MathNamespace.bitXor(int, int): int', (_: unknown, a: bigint, b: bigint) => a ^ b)
  env.registerFunction('MathNamespace.bitNot(int): int', (_: unknown, a: bigint) => ~a)
  env.registerFunction('MathNamespace.bitShiftLeft(int, int): int', (_: unknown, a: bigint, n: bigint) => {
    if (n < 0n) invalidArgument(`math.bitShiftLeft() negative offset: ${n}`)
    return n > 63n ? 0n : bitsOf(a << n)
  })
  env.registerFunction('MathNamespace.bitShiftRight(int, int): int', (_: unknown, a: bigint, n: bigint) => {
    if (n < 0n) invalidArgument(`math.bitShiftRight() negative offset: ${n}`)
    // cel-go shifts ints logically (as unsigned), so the sign bit is not extended.
    return n > 63n ? 0n : bitsOf(BigInt.asUintN(64, a) >> n)
  })

  env.registerType('Base64Namespace', Base64Namespace)
  env.registerConstant('base64', 'Base64Namespace', new Base64Namespace())
  env.registerFunction('Base64Namespace.encode(bytes): string', (_: unknown, b: Uint8Array) => toBase64(b))
  env.registerFunction('Base64Namespace.decode(string): bytes', (_: unknown, s: string) => fromBase64(s))
  env.registerType('JsonNamespace', JsonNamespace)
  env.registerConstant('json', 'JsonNamespace', new JsonNamespace())
  env.registerFunction('JsonNamespace.encode(dyn): string', (_: unknown, v: unknown) => JSON.stringify(toJson(v)))
}
