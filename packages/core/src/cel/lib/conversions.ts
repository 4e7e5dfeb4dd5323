import type { Environment } from '@marcbachmann/cel-js'
import { ConditionError } from '../../errors.js'
import type { Duration, UnsignedInt } from '../values.js'
import { goFormatG } from './strings.js'
import { formatTimestamp } from './time.js'

/** `int(...)` is renamed at compile time to these overloads: cel-go range-checks every conversion. */
export const INT_CONVERSION = 'cerbosInt'

/**
 * `string(...)` is renamed at compile time to these overloads: cel-go prints doubles with Go's
 * `%g` rules (`2.5e+06`) and rejects invalid UTF-8 bytes. Modules that add types register their
 * own `string()` overload under this name.
 */
export const STRING_CONVERSION = 'cerbosString'

const MIN_INT = -(2n ** 63n)
const MAX_INT = 2n ** 63n - 1n

function inRange(value: bigint): bigint {
  if (value < MIN_INT || value > MAX_INT) throw new ConditionError('integer overflow', { reason: 'numeric_overflow' })
  return value
}

const TWO_TO_63 = 2 ** 63

function fromDouble(value: number): bigint {
  // cel-go rejects doubles outside (-2^63, 2^63): both bounds are exact doubles and out of range.
  if (!Number.isFinite(value) || value <= -TWO_TO_63 || value >= TWO_TO_63) {
    throw new ConditionError('integer overflow', { reason: 'numeric_overflow' })
  }
  return inRange(BigInt(Math.trunc(value)))
}

function fromString(value: string): bigint {
  if (!/^[-+]?\d+$/.test(value)) throw new ConditionError("type conversion error from 'string' to 'int'", { reason: 'invalid_argument' })
  return inRange(BigInt(value))
}

const utf8 = new TextDecoder('utf-8', { fatal: true })

function bytesToString(bytes: Uint8Array): string {
  try {
    return utf8.decode(bytes)
  } catch {
    throw new ConditionError('invalid UTF-8 in bytes, cannot convert to string', { reason: 'invalid_argument' })
  }
}

/** Registers the range-checked `int()` conversions and cel-go's `string()` conversions. */
export function registerConversions(env: Environment): void {
  env.registerFunction(`${STRING_CONVERSION}(string): string`, (v: string) => v)
  env.registerFunction(`${STRING_CONVERSION}(bool): string`, (v: boolean) => String(v))
  env.registerFunction(`${STRING_CONVERSION}(int): string`, (v: bigint) => v.toString())
  env.registerFunction(`${STRING_CONVERSION}(uint): string`, (v: InstanceType<typeof UnsignedInt>) => v.toString())
  env.registerFunction(`${STRING_CONVERSION}(double): string`, goFormatG)
  env.registerFunction(`${STRING_CONVERSION}(bytes): string`, bytesToString)
  env.registerFunction(`${STRING_CONVERSION}(google.protobuf.Timestamp): string`, formatTimestamp)
  env.registerFunction(`${STRING_CONVERSION}(google.protobuf.Duration): string`, (d: InstanceType<typeof Duration>) => d.toString())
  env.registerFunction(`${INT_CONVERSION}(int): int`, (v: bigint) => v)
  env.registerFunction(`${INT_CONVERSION}(uint): int`, (v: InstanceType<typeof UnsignedInt>) => inRange(v.valueOf()))
  env.registerFunction(`${INT_CONVERSION}(double): int`, fromDouble)
  env.registerFunction(`${INT_CONVERSION}(string): int`, fromString)
  env.registerFunction(`${INT_CONVERSION}(google.protobuf.Timestamp): int`, (ts: Date) => BigInt(Math.floor(ts.getTime() / 1000)))
}
