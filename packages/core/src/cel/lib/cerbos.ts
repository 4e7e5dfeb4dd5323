import type { Environment } from '@marcbachmann/cel-js'
import { ConditionError } from '../../errors.js'
import { currentNow } from '../scope.js'
import { celEquals, Duration } from '../values.js'
import { parseLenientCIDR, parseLenientIP } from './ip.js'

type Membership = (value: unknown) => boolean

/** Membership by CEL equality (`1` finds `1.0`), as Cerbos 0.55 does for every list length. */
function membershipOf(list: readonly unknown[]): Membership {
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
  // cel-go declares these over `list(A)`, which only matters to its checker (`[1].isSubset([1.0])`
  // is a compile error there, accepted here); at run time it dispatches on any two lists, as here.
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
