/**
 * The last principal built per actor (and per workload for calls without one). Fresh workload
 * tokens of one caller then share one deep-frozen principal, which the engine validates once and
 * its memos key on (see docs/architecture.md, performance invariants).
 */
import { deepFreeze } from '../../internal/deep-freeze.js'
import type { Principal } from '../../types.js'
import { buildPrincipal } from './principal.js'
import type { VerifiedActor } from '../caller.js'
import type { WorkloadMapping } from './types.js'

const sameStrings = (a: readonly string[], b: readonly string[]): boolean => a.length === b.length && a.every((v, i) => v === b[i])

/**
 * Whether a principal's attributes are exactly the workload's own `attr` entries plus the `act` entry
 * of this actor. Own keys on both sides: an entry set to `undefined`, or one a (custom) mapping's
 * object inherits, must not pass for an entry of the same value that is absent.
 */
function sameEntries(
  principalAttr: Readonly<Record<string, unknown>> | undefined,
  workloadAttr: Readonly<Record<string, unknown>>,
  actor: VerifiedActor | undefined,
  txn: Readonly<Record<string, unknown>> | undefined,
): boolean {
  if (principalAttr === undefined) return false
  if (txn !== undefined && principalAttr['txn'] !== txn) return false
  let count = 0
  for (const key of Object.keys(workloadAttr)) {
    if (key === 'act' || key === 'txn') continue
    if (!Object.hasOwn(principalAttr, key) || principalAttr[key] !== workloadAttr[key]) return false
    count++
  }
  const expected = count + (actor === undefined ? 0 : 1) + (txn === undefined ? 0 : 1)
  return Object.keys(principalAttr).length === expected
}

/** Principals of calls without an actor remembered per verifier (one per calling workload). */
const PRINCIPALS_WITHOUT_ACTOR = 512

/** One verifier's principals, by actor (weakly) and by workload id (bounded). */
export class PrincipalMemo {
  private readonly accompanied = new WeakMap<object, Principal>()
  private readonly unaccompanied = new Map<string, Principal>()

  /**
   * The principal of a workload acting for an actor. Rebuilt only when something it holds differs
   * from the last one built for this actor (or for this workload without one): fresh workload
   * tokens of one caller then share one frozen principal, which the engine validates once.
   */
  of(workloadId: string, mapped: WorkloadMapping, actor: VerifiedActor | undefined, txn?: Readonly<Record<string, unknown>>): Principal {
    // A Txn-Token's actor and transaction are one frozen side: either object keys both.
    const by = actor ?? txn
    const last = by === undefined ? this.unaccompanied.get(workloadId) : this.accompanied.get(by)
    if (last !== undefined && last.id === workloadId && sameStrings(last.roles, mapped.roles) && sameEntries(last.attr, mapped.attr, actor, txn)) {
      return last
    }
    const principal = deepFreeze(buildPrincipal({ id: workloadId, ...mapped }, actor, txn))
    if (by === undefined) {
      if (this.unaccompanied.size >= PRINCIPALS_WITHOUT_ACTOR) this.unaccompanied.delete(this.unaccompanied.keys().next().value as string)
      this.unaccompanied.set(workloadId, principal)
    } else this.accompanied.set(by, principal)
    return principal
  }
}
