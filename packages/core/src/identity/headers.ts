import { IdentityError, type TokenKind } from '../errors.js'

/** A request's headers: lower-case names, every value received (duplicates kept as arrays). */
export type HeaderView = Readonly<Record<string, string | readonly string[] | undefined>>

/** The default header of the actor token. */
export const DEFAULT_ACTOR_HEADER = 'x-meshguard-actor'
/** The default header of the transaction id. */
export const DEFAULT_TRANSACTION_HEADER = 'x-meshguard-txn'

/**
 * Headers Node's `IncomingMessage.headers` keeps one value of (it drops the repeats) or joins with
 * "; " (`cookie`): a duplicate of these cannot be told from `headers`, so identity never reads its
 * own headers from them, and {@link headerViewOf} looks at the raw `authorization` lines itself.
 */
export const SINGLE_VALUE_HEADERS: ReadonlySet<string> = new Set([
  'age', 'authorization', 'content-length', 'content-type', 'cookie', 'etag', 'expires', 'from', 'host',
  'if-modified-since', 'if-unmodified-since', 'last-modified', 'location', 'max-forwards',
  'proxy-authorization', 'referer', 'retry-after', 'server', 'user-agent',
])

/** What {@link headerViewOf} reads from a Node request. */
export interface NodeRequestHeaders {
  readonly headers: HeaderView
  readonly rawHeaders: readonly string[]
  readonly headersDistinct: HeaderView
}

/**
 * The header view of a Node request (`IncomingMessage`). `headers` serves, except when
 * `Authorization` arrived more than once: Node keeps only the first, and identity must see every
 * one to refuse them (`duplicate_header`). Every other header identity reads is joined by Node with
 * ", ", which it refuses the same way. Building `headersDistinct` on every request costs more than
 * this scan of the raw lines.
 */
export function headerViewOf(message: NodeRequestHeaders): HeaderView {
  const raw = message.rawHeaders
  let seen = 0
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i] as string
    // The two usual spellings first: lower-casing allocates a string.
    if (name.length === 13 && (name === 'authorization' || name === 'Authorization' || name.toLowerCase() === 'authorization') && ++seen > 1) {
      return message.headersDistinct
    }
  }
  return message.headers
}

const BEARER = /^bearer +(\S+)$/i
const TRANSACTION_ID = /^[A-Za-z0-9._:-]{1,128}$/

/**
 * Reads exactly one value of a header. Several values, or one value Node joined from several
 * headers with `, `, are `duplicate_header`: which one would be meant is ambiguous.
 *
 * For a token header (`tokenKind` given), a value longer than `maxBytes` is `token_too_large`
 * before anything scans it, and a value with commas and `{` is `token_malformed`: a JWS JSON
 * serialization (never accepted), whose commas are not several headers.
 */
export function singleHeader(headers: HeaderView, name: string, tokenKind?: TokenKind, maxBytes?: number): string | undefined {
  const value = headers[name]
  if (value === undefined) return undefined
  if (typeof value !== 'string') {
    if (value.length === 0) return undefined
    if (value.length > 1) throw new IdentityError('duplicate_header', `more than one "${name}" header`, { tokenKind })
    const only = value[0] as string
    if (tokenKind !== undefined) checkTokenValue(only, tokenKind, maxBytes)
    return only
  }
  if (tokenKind !== undefined) checkTokenValue(value, tokenKind, maxBytes)
  if (value.includes(',')) {
    // A comma in a JSON serialization is not a second header (a compact JWS has neither).
    if (tokenKind !== undefined && value.includes('{')) throw jsonSerialization(tokenKind)
    throw new IdentityError('duplicate_header', `more than one "${name}" header`, { tokenKind })
  }
  return value
}

const jsonSerialization = (tokenKind: TokenKind): IdentityError =>
  new IdentityError('token_malformed', 'token is not a compact JWS (JSON serialization is not accepted)', { tokenKind })

/** The size check of a token header value, before anything scans it. */
function checkTokenValue(value: string, tokenKind: TokenKind, maxBytes: number | undefined): void {
  if (maxBytes !== undefined && value.length > maxBytes) {
    throw new IdentityError('token_too_large', `token exceeds ${maxBytes} bytes`, { tokenKind })
  }
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
  if (match === null) throw new IdentityError('auth_scheme_invalid', 'authorization is not "Bearer <token>"', { tokenKind: 'workload' })
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
