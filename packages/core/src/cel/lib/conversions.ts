import type { Environment } from '@marcbachmann/cel-js'
import { ConditionError } from '../../errors.js'
import { UnsignedInt } from '../values.js'

/** `int(...)` is renamed at compile time to these overloads: cel-go range-checks every conversion. */
export const INT_CONVERSION = 'cerbosInt'

const MIN_INT = -(2n ** 63n)
const MAX_INT = 2n ** 63n - 1n

function inRange(value: bigint): bigint {
  if (value < MIN_INT || value > MAX_INT) throw new ConditionError('integer overflow', { reason: 'numeric_overflow' })
  return value
}

function fromDouble(value: number): bigint {
  // cel-go rejects doubles whose truncation is not representable (2^63 itself included).
  if (!Number.isFinite(value) || value <= -9223372036854775809 || value >= 9223372036854775808) {
    throw new ConditionError('integer overflow', { reason: 'numeric_overflow' })
  }
  return inRange(BigInt(Math.trunc(value)))
}

function fromString(value: string): bigint {
  if (!/^[-+]?\d+$/.test(value)) throw new ConditionError("type conversion error from 'string' to 'int'", { reason: 'invalid_argument' })
  return inRange(BigInt(value))
}

/** Registers the range-checked `int()` conversions. */
export function registerConversions(env: Environment): void {
  env.registerFunction(`${INT_CONVERSION}(int): int`, (v: bigint) => v)
  env.registerFunction(`${INT_CONVERSION}(uint): int`, (v: InstanceType<typeof UnsignedInt>) => inRange(v.valueOf() as bigint))
  env.registerFunction(`${INT_CONVERSION}(double): int`, fromDouble)
  env.registerFunction(`${INT_CONVERSION}(string): int`, fromString)
  env.registerFunction(`${INT_CONVERSION}(google.protobuf.Timestamp): int`, (ts: Date) => BigInt(Math.floor(ts.getTime() / 1000)))
}
