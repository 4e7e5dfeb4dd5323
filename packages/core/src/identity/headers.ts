import { IdentityError } from '../errors.js'
import type { HeaderView } from './types.js'

/** The default header of the actor token. */
export const DEFAULT_ACTOR_HEADER = 'x-meshguard-actor'
/** The default header of the transaction id. */
export const DEFAULT_TRANSACTION_HEADER = 'x-meshguard-txn'

const BEARER = /^bearer +(\S+)$/i
const TRANSACTION_ID = /^[A-Za-z0-9._:-]{1,128}$/

/**
 * Reads exactly one value of a header. Several values, or one value Node joined from several
 * headers with `, `, are `duplicate_header`: which one would be meant is ambiguous.
 */
export function singleHeader(headers: HeaderView, name: string): string | undefined {
  const value = headers[name]
  if (value === undefined) return undefined
  if (typeof value !== 'string') {
    if (value.length === 0) return undefined
    if (value.length > 1) throw new IdentityError('duplicate_header', `more than one "${name}" header`)
    return value[0]
  }
  if (value.includes(',')) throw new IdentityError('duplicate_header', `more than one "${name}" header`)
  return value
}

/**
 * The value {@link singleHeader} would return, or undefined where it would throw or there is none;
 * never throws. For lookups only: the real read still follows, with its checks.
 */
export function peekSingleHeader(headers: HeaderView, name: string): string | undefined {
  const value = headers[name]
  if (typeof value === 'string') return value
  return value !== undefined && value.length === 1 ? value[0] : undefined
}

/** The workload token of an `authorization` value (`Bearer <token>`), or undefined when it is absent or blank. */
export function parseBearer(value: string | undefined): string | undefined {
  if (value === undefined) return undefined
  const trimmed = value.trim()
  if (trimmed === '') return undefined
  const match = BEARER.exec(trimmed)
  if (match === null) throw new IdentityError('auth_scheme_invalid', 'authorization is not "Bearer <token>"')
  return match[1]
}

/** The workload token from `authorization: Bearer <token>`, or undefined when the header is absent. */
export function bearerToken(headers: HeaderView): string | undefined {
  return parseBearer(singleHeader(headers, 'authorization'))
}

/** The actor token of an actor header value, or undefined when it is absent or blank. */
export function parseActorToken(value: string | undefined): string | undefined {
  if (value === undefined) return undefined
  const trimmed = value.trim()
  return trimmed === '' ? undefined : trimmed
}

/** The transaction id from its header, or undefined. */
export function transactionIdHeader(headers: HeaderView, name: string): string | undefined {
  const value = singleHeader(headers, name)
  if (value === undefined || value === '') return undefined
  if (!TRANSACTION_ID.test(value)) throw new IdentityError('txn_invalid', 'transaction id header is malformed')
  return value
}

/** True when a transaction id is well-formed (1–128 of `[A-Za-z0-9._:-]`). */
export function isTransactionId(value: unknown): value is string {
  return typeof value === 'string' && TRANSACTION_ID.test(value)
}
