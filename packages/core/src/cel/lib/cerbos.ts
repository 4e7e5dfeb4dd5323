import type { Environment } from '@marcbachmann/cel-js'
import { ConditionError } from '../../errors.js'
import { currentNow } from '../scope.js'
import { celEquals, Duration, UnsignedInt } from '../values.js'
import { parseLenientCIDR, parseLenientIP } from './ip.js'

/**
 * cel-go's set helpers index the second list by value when it has more than 3 elements that are
 * all of a hashable kind; then membership is by exact type and value (`1` does not find `1.0`).
 * Shorter or mixed lists are searched with CEL equality. Reproduced so results match Cerbos.
 */
function hashKey(value: unknown): string | undefined {
  switch (typeof value) {
    case 'string':
      return `s${value}`
    case 'bigint':
      return `i${value}`
    case 'number':
      return `d${value}`
    default:
      if (value instanceof UnsignedInt) return `u${value.toString()}`
      if (value instanceof Date) return `t${value.getTime()}`
      if (value instanceof Duration) return `D${value.seconds}:${value.nanos}`
      return undefined
  }
}

type Membership = (value: unknown) => boolean

function membershipOf(list: readonly unknown[]): Membership {
  if (list.length > 3 && hashKey(list[0]) !== undefined) {
    const keys = new Set<string>()
    let hashable = true
    for (const item of list) {
      const key = hashKey(item)
      if (key === undefined) {
        hashable = false
        break
      }
      keys.add(key)
    }
    if (hashable) {
      return (value) => {
        const key = hashKey(value)
        return key !== undefined && keys.has(key)
      }
    }
  }
  return (value) => list.some((item) => celEquals(value, item))
}

/** Items of `a` that are not in `b`, in `a`'s order. */
export function except(a: readonly unknown[], b: readonly unknown[]): unknown[] {
  const inB = membershipOf(b)
  return a.filter((item) => !inB(item))
}

/** Items of the shorter list that are in the longer one, in the shorter list's order. */
export function intersect(a: readonly unknown[], b: readonly unknown[]): unknown[] {
  const [shorter, longer] = a.length > b.length ? [b, a] : [a, b]
  const inLonger = membershipOf(longer)
  return shorter.filter((item) => inLonger(item))
}

/** True when the lists share at least one element. */
export function hasIntersection(a: readonly unknown[], b: readonly unknown[]): boolean {
  const [shorter, longer] = a.length > b.length ? [b, a] : [a, b]
  const inLonger = membershipOf(longer)
  return shorter.some((item) => inLonger(item))
}

/** True when every element of `a` is in `b`. */
export function isSubset(a: readonly unknown[], b: readonly unknown[]): boolean {
  const inB = membershipOf(b)
  return a.every((item) => inB(item))
}

/** Cerbos `inIPAddrRange`: Go `net.ParseIP`/`net.ParseCIDR` rules; a bad address is an error. */
export function inIPAddrRange(ip: string, cidr: string): boolean {
  const address = parseLenientIP(ip)
  if (address === undefined) throw new ConditionError(`invalid IP address: ${ip}`, { reason: 'invalid_argument' })
  const block = parseLenientCIDR(cidr)
  if (block === undefined) throw new ConditionError(`invalid CIDR address: ${cidr}`, { reason: 'invalid_argument' })
  return block.containsIP(address.unmapped())
}

/** `now() - ts` as a duration. */
export function timeSince(ts: Date): InstanceType<typeof Duration> {
  return Duration.fromMilliseconds(currentNow().getTime() - ts.getTime())
}

/** Registers the Cerbos functions on lists, addresses and time (`CerbosCELLib`). */
export function registerCerbosLib(env: Environment): void {
  const setOps: Array<[string, (a: unknown[], b: unknown[]) => unknown, string]> = [
    ['except', except, 'list'],
    ['intersect', intersect, 'list'],
    ['hasIntersection', hasIntersection, 'bool'],
    ['has_intersection', hasIntersection, 'bool'],
    ['isSubset', isSubset, 'bool'],
    ['is_subset', isSubset, 'bool'],
  ]
  for (const [name, fn, result] of setOps) {
    env.registerFunction(`${name}(list, list): ${result}`, fn)
    env.registerFunction(`list.${name}(list): ${result}`, fn)
  }
  env.registerFunction('string.inIPAddrRange(string): bool', inIPAddrRange)
  env.registerFunction('timeSince(google.protobuf.Timestamp): google.protobuf.Duration', timeSince)
  env.registerFunction('google.protobuf.Timestamp.timeSince(): google.protobuf.Duration', timeSince)
  env.registerFunction('id(dyn): dyn', (value: unknown) => value)
}
