/** OAuth scopes (RFC 6749 §3.3): parsing and the narrowing rule (draft §13.6, §13.14). */
import { refuse } from './errors.js'

/** One scope token: %x21 / %x23-5B / %x5D-7E, bounded so descriptions and policies stay small. */
const SCOPE_TOKEN = /^[\x21\x23-\x5b\x5d-\x7e]{1,128}$/

/**
 * The scope values of a request's `scope` parameter: space-separated, each valid, duplicates
 * dropped, at most `maxScopes`.
 */
export function parseRequestedScope(value: string | undefined, maxScopes: number): string[] {
  if (value === undefined || value.trim() === '') throw refuse.request('scope_missing', 'scope is required')
  const parts = value.split(' ').filter((part) => part !== '')
  if (parts.length > maxScopes) throw refuse.scope('too_many_scopes', `at most ${maxScopes} scope values are allowed`)
  for (const part of parts) {
    if (!SCOPE_TOKEN.test(part)) throw refuse.scope('scope_malformed', 'scope contains an invalid value')
  }
  return [...new Set(parts)]
}

/**
 * The scope a verified token allows, read from `claim`: a space-separated string or an array of
 * strings. Undefined when the token does not say (the caller then refuses: an unknown scope is
 * never treated as unlimited).
 */
export function scopeOfClaims(claims: Readonly<Record<string, unknown>>, claim: string): string[] | undefined {
  const value = Object.hasOwn(claims, claim) ? claims[claim] : undefined
  let parts: unknown[]
  if (typeof value === 'string') parts = value.split(' ').filter((part) => part !== '')
  else if (Array.isArray(value)) parts = value
  else return undefined
  if (parts.length === 0 || parts.some((part) => typeof part !== 'string' || !SCOPE_TOKEN.test(part))) return undefined
  return [...new Set(parts as string[])]
}

/** Refuses (`invalid_scope`) a requested scope that is not within what the subject allows. */
export function checkNarrowing(requested: readonly string[], allowed: readonly string[] | undefined): void {
  if (allowed === undefined) throw refuse.scope('subject_scope_unknown', 'the subject token does not state its scope')
  const granted = new Set(allowed)
  const wider = requested.filter((scope) => !granted.has(scope))
  if (wider.length > 0) throw refuse.scope('scope_too_wide', 'requested scope is wider than the subject token allows')
}
