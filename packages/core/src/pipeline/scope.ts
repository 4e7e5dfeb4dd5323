/**
 * Route scopes: a route may require a purpose (`scope: 'review.read'`) of the transaction it serves.
 * The scopes a request holds come from its Txn-Token (`scope`, set by the Txn-Token Service), or in
 * access-token mode from the access token's `scope` claim. Missing → 403 `insufficient_scope` with
 * the RFC 6750 §3.1 `WWW-Authenticate` error naming the scope.
 */
import { ConfigError, DeniedError } from '../errors.js'
import { tokenSchemeOf } from '../identity/verify/edge-caller.js'
import type { VerifiedCallerLike } from './types.js'

/** A scope token of RFC 6749 §3.3: printable ASCII without space, `"` or `\`. */
const SCOPE_TOKEN = /^[\x21\x23-\x5B\x5D-\x7E]+$/

/** The request lacks a scope the route requires (403, reason `insufficient_scope`). */
export class InsufficientScopeError extends DeniedError {
  /** The scopes the route requires, for the `WWW-Authenticate` challenge. */
  readonly requiredScope: readonly string[]
  /** The scheme of the request's token, which the challenge names (`DPoP` for a DPoP-bound access token). */
  readonly scheme: 'Bearer' | 'DPoP'
  constructor(required: readonly string[], scheme: 'Bearer' | 'DPoP' = 'Bearer') {
    super('the transaction does not hold the scope this route requires', { reason: 'insufficient_scope' })
    this.requiredScope = required
    this.scheme = scheme
  }
}

/**
 * Checks a route's `scope` setting: one scope or a list (all required).
 *
 * @returns the frozen list, or undefined when the route requires none
 * @throws ConfigError naming the setting
 */
export function compileScope(scope: unknown, option: string): readonly string[] | undefined {
  if (scope === undefined) return undefined
  const list = typeof scope === 'string' ? [scope] : scope
  if (!Array.isArray(list) || list.length === 0 || !list.every((s) => typeof s === 'string' && SCOPE_TOKEN.test(s))) {
    throw new ConfigError(option, 'must be a scope (e.g. "review.read") or a non-empty list of scopes, without spaces')
  }
  return Object.freeze([...(list as string[])])
}

function scopesOfClaim(value: unknown): readonly string[] {
  if (typeof value === 'string') return value.split(' ')
  if (Array.isArray(value)) return value.filter((s): s is string => typeof s === 'string')
  return []
}

/** The scopes a verified request holds: its Txn-Token's, else its access token's `scope` claim. */
export function scopesOf(caller: VerifiedCallerLike): readonly string[] {
  const { txn, actor } = caller as { txn?: { scope?: readonly string[] }; actor?: { claims?: Readonly<Record<string, unknown>> } }
  if (txn !== undefined) return txn.scope ?? []
  const claims = actor?.claims
  return claims !== undefined && Object.hasOwn(claims, 'scope') ? scopesOfClaim(claims['scope']) : []
}

/**
 * Whether the request holds every scope the route requires.
 *
 * @throws InsufficientScopeError
 */
export function checkScope(caller: VerifiedCallerLike, required: readonly string[] | undefined): void {
  if (required === undefined) return
  const held = scopesOf(caller)
  if (!required.every((s) => held.includes(s))) throw new InsufficientScopeError(required, tokenSchemeOf(caller))
}
