/**
 * Small helpers for data built from untrusted JSON: own-property writes that a `__proto__` key
 * cannot turn into a prototype change, frozen copies for hooks, digests for audit records.
 */
import { createHash } from 'node:crypto'

/** `obj[key]` when it is an own property of an object, otherwise undefined (nothing inherited is read). */
export function ownMember(obj: unknown, key: string): unknown {
  return typeof obj === 'object' && obj !== null && Object.hasOwn(obj, key) ? (obj as Record<string, unknown>)[key] : undefined
}

/** Defines `obj[key] = value` as an own, enumerable data property, whatever the key. */
export function putOwn(obj: Record<string, unknown>, key: string, value: unknown): void {
  Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true })
}

/** A frozen copy of JSON data (claims handed to hooks cannot be changed by them). */
export function frozenJson<T>(value: T): T {
  const freeze = (item: unknown): unknown => {
    if (typeof item === 'object' && item !== null) Object.values(item).forEach(freeze)
    return Object.freeze(item)
  }
  return freeze(JSON.parse(JSON.stringify(value)) as unknown) as T
}

/** `sha256:<base64url>` of a token, as audit records carry credentials (never the token itself). */
export function tokenDigest(token: string): string {
  return `sha256:${createHash('sha256').update(token).digest('base64url')}`
}

/** Signature algorithms accepted on subject tokens by default (asymmetric only). */
export const SUBJECT_ALGORITHMS: readonly string[] = Object.freeze(['EdDSA', 'ES256', 'ES384', 'PS256', 'RS256'])
/** Every algorithm an issuer may be configured with. */
export const ALLOWED_SUBJECT_ALGORITHMS: ReadonlySet<string> = new Set([...SUBJECT_ALGORITHMS, 'ES512', 'PS384', 'PS512', 'RS384', 'RS512'])
