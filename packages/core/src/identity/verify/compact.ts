import { IdentityError } from '../../errors.js'
import { deepFreeze } from '../../internal/deep-freeze.js'

const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/

/** The parts of a compact JWS, decoded but NOT verified: use only to route to the right keys. */
export interface UnverifiedToken {
  readonly header: Readonly<Record<string, unknown>>
  readonly payload: Readonly<Record<string, unknown>>
}

function decodeJsonObject(part: string, what: string): Record<string, unknown> {
  let value: unknown
  try {
    value = JSON.parse(Buffer.from(part, 'base64url').toString('utf8'))
  } catch {
    throw new IdentityError('token_malformed', `token ${what} is not base64url-encoded JSON`)
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new IdentityError('token_malformed', `token ${what} is not a JSON object`)
  }
  return value as Record<string, unknown>
}

/**
 * The gate every token passes before any cryptography: size limit, compact-JWS grammar (three
 * base64url parts, no JSON serialization, no JWE), JSON-object header and payload.
 *
 * @throws IdentityError `token_too_large` or `token_malformed`; messages never include the token
 */
export function parseCompactToken(token: string, maxBytes: number): UnverifiedToken {
  // Token characters are ASCII after the grammar check, so length equals bytes.
  if (token.length > maxBytes) throw new IdentityError('token_too_large', `token exceeds ${maxBytes} bytes`)
  if (!COMPACT_JWS.test(token)) throw new IdentityError('token_malformed', 'token is not a compact JWS')
  const first = token.indexOf('.')
  const second = token.indexOf('.', first + 1)
  return {
    header: headerOf(token.slice(0, first)),
    payload: decodeJsonObject(token.slice(first + 1, second), 'payload'),
  }
}

/** Decoded headers remembered: every token one key signs carries the same header bytes. */
const HEADERS = 64
const headers = new Map<string, Readonly<Record<string, unknown>>>()

/** The frozen header of an encoded header part (decoded once per distinct part). */
function headerOf(part: string): Readonly<Record<string, unknown>> {
  let header = headers.get(part)
  if (header === undefined) {
    header = deepFreeze(decodeJsonObject(part, 'header'))
    if (headers.size >= HEADERS) headers.delete(headers.keys().next().value as string)
    headers.set(part, header)
  }
  return header
}
