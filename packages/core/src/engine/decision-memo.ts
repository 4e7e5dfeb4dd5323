/**
 * Remembered decisions for repeated checks. A check is a deterministic function of the policy set,
 * the principal, the resource, the action and the clock; when its evaluation never read the clock
 * (no `now()`, no `timeSince()`), the same inputs give the same answer, so the answer can be reused.
 *
 * What makes it exact:
 * - one memo per compiled policy set (a reload or swap starts an empty one);
 * - principals are keyed by object identity and only when deep-frozen (the identity layer hands
 *   every request of a caller the same frozen principal), so their content cannot have changed;
 * - the resource is compared in full against a frozen copy (kind, id, version, scope, every attribute);
 * - only answers whose evaluation did not read the clock are stored, and only plain JSON-like
 *   attribute values are compared (anything else is never stored).
 *
 * Admission: an answer is stored when its key comes back for the same principal, so a stream of
 * distinct resources pays a Set lookup, not a copy, per check.
 */
import { deepFreeze } from '../internal/deep-freeze.js'
import type { CheckResourcesRequest, CheckResourcesResponse, Resource } from '../types.js'
import { setOwn } from '../internal/own.js'
import { tupleKey } from './tuple-key.js'

/** Answers kept per principal; the oldest goes first. */
const ENTRIES_PER_PRINCIPAL = 64

/** Everything of a response that does not depend on the request id (deep-frozen once remembered). */
export type RememberedAnswer = Pick<CheckResourcesResponse, 'results' | 'evaluationErrors' | 'effectivePolicies'>

interface Entry {
  readonly attr: unknown
  readonly answer: RememberedAnswer
}

interface PrincipalMemo {
  readonly entries: Map<string, Entry>
  /** Keys seen once: the next sighting stores the answer. */
  readonly seen: Set<string>
}

/** Deep-frozen, JSON-like: what can be compared by content and never changes. */
function isFrozenPlain(value: unknown, depth = 0): boolean {
  if (value === null || typeof value !== 'object') return typeof value !== 'function' && typeof value !== 'symbol'
  if (depth > 32 || !Object.isFrozen(value)) return false
  if (Array.isArray(value)) return value.every((item) => isFrozenPlain(item, depth + 1))
  const proto = Object.getPrototypeOf(value) as unknown
  if (proto !== Object.prototype && proto !== null) return false
  for (const key in value) if (!isFrozenPlain((value as Record<string, unknown>)[key], depth + 1)) return false
  return true
}

/** A frozen copy of a JSON-like value, or undefined when it holds anything else. */
function frozenCopy(value: unknown, depth = 0): { value: unknown } | undefined {
  if (value === null || typeof value !== 'object') {
    return typeof value === 'function' || typeof value === 'symbol' || typeof value === 'bigint' ? undefined : { value }
  }
  if (depth > 32) return undefined
  if (Array.isArray(value)) {
    const items: unknown[] = []
    for (const item of value) {
      const copy = frozenCopy(item, depth + 1)
      if (copy === undefined) return undefined
      items.push(copy.value)
    }
    return { value: Object.freeze(items) }
  }
  const proto = Object.getPrototypeOf(value) as unknown
  if (proto !== Object.prototype && proto !== null) return undefined
  const out: Record<string, unknown> = {}
  for (const key of Object.keys(value)) {
    const copy = frozenCopy((value as Record<string, unknown>)[key], depth + 1)
    if (copy === undefined) return undefined
    setOwn(out, key, copy.value)
  }
  return { value: Object.freeze(out) }
}

/** Content equality of a remembered (frozen, JSON-like) value and a request's value. */
function sameContent(remembered: unknown, value: unknown): boolean {
  if (remembered === value) return true
  if (remembered === null || value === null || typeof remembered !== 'object' || typeof value !== 'object') return false
  if (Array.isArray(remembered)) {
    if (!Array.isArray(value) || value.length !== remembered.length) return false
    for (let i = 0; i < remembered.length; i++) if (!sameContent(remembered[i], value[i])) return false
    return true
  }
  if (Array.isArray(value)) return false
  const proto = Object.getPrototypeOf(value) as unknown
  if (proto !== Object.prototype && proto !== null) return false
  // for-in rather than Object.keys: no key arrays per check. Both sides are plain objects, so for-in
  // sees their own enumerable keys (and anything enumerable added to Object.prototype, which then
  // fails the own-property test: no reuse, never a wrong one). Every remembered key is then the
  // request's too; the second loop finds any the request has beyond them.
  let count = 0
  for (const key in remembered) {
    if (!Object.prototype.hasOwnProperty.call(value, key)) return false
    if (!sameContent((remembered as Record<string, unknown>)[key], (value as Record<string, unknown>)[key])) return false
    count++
  }
  for (const key in value) if (Object.prototype.hasOwnProperty.call(value, key) && --count < 0) return false
  return true
}

/** A check of one action on one resource, as the guard sends it: the only shape remembered. */
export interface SingleCheck {
  readonly principal: object
  readonly resource: Resource
  /** Resource, action and options; the attributes are compared separately. */
  readonly key: string
}

const optionalText = (value: unknown): value is string | undefined => value === undefined || typeof value === 'string'

/**
 * The single check a request asks for, when it has exactly the shape (and field types) a remembered
 * answer can stand for; anything else goes through validation and evaluation as usual.
 */
export function singleCheckOf(request: CheckResourcesRequest): SingleCheck | undefined {
  const { principal, resources, auxData, requestId, includeMeta } = request
  // Only frozen principals are ever remembered: anything else skips the key at once.
  if (typeof principal !== 'object' || (principal as unknown) === null || !Object.isFrozen(principal)) return undefined
  if (!Array.isArray(resources) || resources.length !== 1) return undefined
  if ((auxData !== undefined && (auxData as unknown) !== null) || !optionalText(requestId) || (includeMeta !== undefined && typeof includeMeta !== 'boolean')) {
    return undefined
  }
  const entry = resources[0]
  const resource = entry?.resource
  const actions = entry?.actions
  if (typeof resource !== 'object' || (resource as unknown) === null || !Array.isArray(actions) || actions.length !== 1) return undefined
  const [action] = actions
  const { kind, id, policyVersion, scope } = resource
  if (typeof action !== 'string' || typeof kind !== 'string' || typeof id !== 'string' || !optionalText(policyVersion) || !optionalText(scope)) {
    return undefined
  }
  return { principal, resource, key: `${keyPrefixOf(kind, action, policyVersion, scope, includeMeta === true)}${id}` }
}

/** How many key prefixes are kept; past it, prefixes are built per check (kinds and actions are few). */
const PREFIXES = 1024

/** Key prefixes of the usual checks (no policy version, no scope) by kind, then action; one table per meta flag. */
const usualPrefixes = { plain: new Map<string, Map<string, string>>(), meta: new Map<string, Map<string, string>>() }
let usualPrefixCount = 0

/**
 * Kind, action, version, scope and the meta flag, each part length-prefixed (see tupleKey), so the id
 * that follows is the rest of the key. An absent version or scope is `-`, a present one `=` and its
 * text, so undefined and '' stay apart: a key never merges two requests validation treats apart.
 */
function buildKeyPrefix(kind: string, action: string, policyVersion: string | undefined, scope: string | undefined, meta: boolean): string {
  const optional = (value: string | undefined): string => (value === undefined ? '-' : `=${value}`)
  return tupleKey([kind, action, optional(policyVersion), optional(scope), meta ? 'm' : ''])
}

/**
 * The part of a key before the resource id. Prefixes of the usual shape are built once, so the key
 * of a check is one concatenation rather than six (each a string to allocate and, as a map key, to
 * flatten).
 */
function keyPrefixOf(kind: string, action: string, policyVersion: string | undefined, scope: string | undefined, meta: boolean): string {
  if (policyVersion !== undefined || scope !== undefined) return buildKeyPrefix(kind, action, policyVersion, scope, meta)
  const table = meta ? usualPrefixes.meta : usualPrefixes.plain
  const byAction = table.get(kind)
  let prefix = byAction?.get(action)
  if (prefix === undefined) {
    prefix = buildKeyPrefix(kind, action, undefined, undefined, meta)
    if (usualPrefixCount < PREFIXES) {
      if (byAction === undefined) table.set(kind, new Map([[action, prefix]]))
      else byAction.set(action, prefix)
      usualPrefixCount++
    }
  }
  return prefix
}

/** Remembered answers of one compiled policy set. */
export class DecisionMemo {
  private readonly principals = new WeakMap<object, PrincipalMemo | null>()

  /** The memo of a principal, or undefined when it cannot be keyed (not deep-frozen plain data). */
  private memoOf(principal: object): PrincipalMemo | undefined {
    let memo = this.principals.get(principal)
    if (memo === undefined) {
      memo = isFrozenPlain(principal) ? { entries: new Map(), seen: new Set() } : null
      // A mutable principal is never looked at again: `null` marks it.
      if (Object.isFrozen(principal)) this.principals.set(principal, memo)
    }
    return memo ?? undefined
  }

  /** The remembered answer for this principal, resource and key, if any. */
  lookup(principal: object, key: string, resource: Resource): RememberedAnswer | undefined {
    if (!Object.isFrozen(principal)) return undefined
    const entry = this.memoOf(principal)?.entries.get(key)
    if (entry === undefined) return undefined
    return sameContent(entry.attr, resource.attr ?? {}) ? entry.answer : undefined
  }

  /** Notes an answer computed without reading the clock; stores it on the key's second sighting. */
  offer(principal: object, key: string, resource: Resource, answer: RememberedAnswer): void {
    if (!Object.isFrozen(principal)) return
    const memo = this.memoOf(principal)
    if (memo === undefined) return
    if (!memo.seen.has(key) && !memo.entries.has(key)) {
      if (memo.seen.size >= ENTRIES_PER_PRINCIPAL) memo.seen.delete(memo.seen.values().next().value as string)
      memo.seen.add(key)
      return
    }
    const attr = frozenCopy(resource.attr ?? {})
    if (attr === undefined) return
    memo.seen.delete(key)
    memo.entries.delete(key)
    if (memo.entries.size >= ENTRIES_PER_PRINCIPAL) memo.entries.delete(memo.entries.keys().next().value as string)
    memo.entries.set(key, { attr: attr.value, answer: deepFreeze(answer) })
  }
}
