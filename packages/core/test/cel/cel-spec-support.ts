/**
 * Reads google/cel-spec `simple/*.textproto` files into runnable cases and compares results the
 * way the cel-spec runners do: by kind and value (an int 1 is not a double 1.0), maps ignoring
 * order, NaN equal to NaN. Timestamps compare at millisecond precision (JS `Date`).
 */
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { Duration, Optional, UnsignedInt } from '../../src/cel/values.js'
import { CONFORMANCE_ROOT } from './conformance-support.js'
import { first, isMessage, parseTextProto, text, type TextMessage, type TextValue } from './textproto.js'

/** What a case expects. */
export type Expectation = { kind: 'value'; value: unknown } | { kind: 'error' }

/** One runnable cel-spec test, or one that is not applicable (with why). */
export type SpecCase =
  | { id: string; run: true; expr: string; bindings: Record<string, unknown>; expect: Expectation }
  | { id: string; run: false; expr: string; why: string }

class Unsupported extends Error {}

function num(value: TextValue | undefined): string {
  const t = text(value)
  if (t === undefined) throw new Unsupported('missing number')
  return t
}

function parseDouble(t: string): number {
  const lower = t.toLowerCase()
  if (lower === 'inf' || lower === 'infinity') return Infinity
  if (lower === '-inf' || lower === '-infinity') return -Infinity
  if (lower === 'nan') return Number.NaN
  return Number(t)
}

/** A `cel.expr.Value` message as the JS value the CEL library uses. */
export function toRuntimeValue(message: TextMessage): unknown {
  const [field] = Object.keys(message)
  const value = field === undefined ? undefined : message[field]![0]
  switch (field) {
    case 'int64_value':
      return BigInt(num(value))
    case 'uint64_value':
      return new UnsignedInt(BigInt(num(value)))
    case 'double_value':
      return parseDouble(num(value))
    case 'string_value':
      return text(value) ?? ''
    case 'bytes_value':
      return value instanceof Uint8Array ? value : new Uint8Array()
    case 'bool_value':
      return num(value) === 'true'
    case 'null_value':
      return null
    case 'list_value': {
      const list = isMessage(value) ? (value['values'] ?? []) : []
      return list.map((v) => toRuntimeValue(v as TextMessage))
    }
    case 'map_value': {
      const entries = isMessage(value) ? (value['entries'] ?? []) : []
      const pairs = entries.map((e) => {
        const entry = e as TextMessage
        return [toRuntimeValue(first(entry, 'key') as TextMessage), toRuntimeValue(first(entry, 'value') as TextMessage)] as const
      })
      return pairs.every(([k]) => typeof k === 'string') ? Object.fromEntries(pairs as Array<[string, unknown]>) : new Map(pairs)
    }
    case 'type_value':
      return { celType: text(value) }
    case 'object_value': {
      if (!isMessage(value)) throw new Unsupported('object')
      const ts = first(value, '[type.googleapis.com/google.protobuf.Timestamp]')
      if (isMessage(ts)) {
        const seconds = Number(text(first(ts, 'seconds')) ?? '0')
        const nanos = Number(text(first(ts, 'nanos')) ?? '0')
        return new Date(seconds * 1000 + Math.trunc(nanos / 1e6))
      }
      const d = first(value, '[type.googleapis.com/google.protobuf.Duration]')
      if (isMessage(d)) return new Duration(BigInt(text(first(d, 'seconds')) ?? '0'), Number(text(first(d, 'nanos')) ?? '0'))
      throw new Unsupported(`protobuf message ${Object.keys(value)[0] ?? ''}`)
    }
    default:
      throw new Unsupported(`value kind ${field ?? 'none'}`)
  }
}

/** A comparable representation: kinds are kept apart, maps sorted, NaN stable. */
export function canonical(value: unknown): unknown {
  if (typeof value === 'bigint') return { int: value.toString() }
  if (value instanceof UnsignedInt) return { uint: value.toString() }
  if (typeof value === 'number') return { double: Number.isNaN(value) ? 'NaN' : Object.is(value, -0) ? '0' : String(value) }
  if (typeof value === 'string' || typeof value === 'boolean' || value === null) return value
  if (value instanceof Uint8Array) return { bytes: Buffer.from(value).toString('hex') }
  if (value instanceof Date) return { timestamp: value.getTime() }
  if (value instanceof Duration) return { duration: `${value.seconds}:${value.nanos}` }
  if (value instanceof Optional) return { optional: value.hasValue() ? canonical(value.value()) : 'none' }
  if (Array.isArray(value)) return { list: value.map(canonical) }
  if (value instanceof Map || (typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype)) {
    if (!(value instanceof Map) && 'celType' in value) return { type: value.celType }
    const entries = value instanceof Map ? [...value.entries()] : Object.entries(value)
    const pairs = entries.map(([k, v]) => [JSON.stringify(canonical(k)), canonical(v)] as const)
    return { map: pairs.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)) }
  }
  if (typeof value === 'object') {
    const name = (value as { name?: unknown }).name
    const ctor = value.constructor.name
    if (ctor === 'Type' && typeof name === 'string') return { type: name }
    // eslint-disable-next-line @typescript-eslint/no-base-to-string -- a class instance other than the kinds above: its class's own toString, if it has one, is its value
    return { [ctor]: String(value) }
  }
  // Left: undefined, a symbol or a function (every other typeof is handled above).
  if (value === undefined || typeof value === 'symbol' || typeof value === 'function') return { other: String(value) }
  throw new TypeError(`canonical: unexpected ${typeof value}`)
}

function bindingsOf(test: TextMessage): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  for (const b of test['bindings'] ?? []) {
    const binding = b as TextMessage
    const key = text(first(binding, 'key'))!
    const exprValue = first(binding, 'value') as TextMessage
    const value = first(exprValue, 'value')
    if (!isMessage(value)) throw new Unsupported('binding without a value')
    out[key] = toRuntimeValue(value)
  }
  return out
}

function expectationOf(test: TextMessage): Expectation {
  if (test['eval_error'] || test['any_eval_errors']) return { kind: 'error' }
  if (test['unknown'] || test['any_unknowns']) throw new Unsupported('unknown-set result (partial evaluation)')
  const value = first(test, 'value') ?? first((first(test, 'typed_result') as TextMessage | undefined) ?? {}, 'result')
  if (isMessage(value)) return { kind: 'value', value: toRuntimeValue(value) }
  return { kind: 'value', value: true } // cel-spec default: the expression must be true
}

/** Reads one cel-spec file into cases, marking those that need protobuf features as not applicable. */
export function readSpecFile(name: string): SpecCase[] {
  const file = parseTextProto(readFileSync(join(CONFORMANCE_ROOT, 'cel-spec/simple', `${name}.textproto`), 'utf8'))
  const cases: SpecCase[] = []
  for (const s of file['section'] ?? []) {
    const section = s as TextMessage
    for (const t of section['test'] ?? []) {
      const test = t as TextMessage
      const id = `${name}/${text(first(section, 'name'))}/${text(first(test, 'name'))}`
      const expr = text(first(test, 'expr')) ?? ''
      const notApplicable = (why: string): void => void cases.push({ id, run: false, expr, why })
      if (test['container']) notApplicable('uses a protobuf container')
      else if (/\b(google\.protobuf|cel\.expr)\.\w|TestAllTypes/.test(expr)) notApplicable('builds or names a protobuf message')
      else if (text(first(test, 'check_only')) === 'true') notApplicable('type-check only')
      else if (text(first(test, 'disable_macros')) === 'true') notApplicable('macros disabled')
      else {
        try {
          cases.push({ id, run: true, expr, bindings: bindingsOf(test), expect: expectationOf(test) })
        } catch (err) {
          if (!(err instanceof Unsupported)) throw err
          notApplicable(err.message)
        }
      }
    }
  }
  return cases
}
