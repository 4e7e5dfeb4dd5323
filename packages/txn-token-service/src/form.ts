/**
 * Reads an `application/x-www-form-urlencoded` token request body into parameters. Every parameter
 * may appear once (RFC 6749 §3.2); values are bounded by the body limit the caller enforced.
 */
import { refuse } from './errors.js'

/** The parameters of one request: name → value, own entries only (a Map cannot be polluted). */
export type FormParams = ReadonlyMap<string, string>

/** Whether a `content-type` header names form encoding (parameters such as `charset` allowed). */
export function isFormContentType(contentType: string | undefined): boolean {
  if (contentType === undefined) return false
  const media = contentType.split(';', 1)[0]?.trim().toLowerCase()
  return media === 'application/x-www-form-urlencoded'
}

/**
 * Parses a form body. Refuses (`invalid_request`) a repeated parameter and a body that is not
 * valid UTF-8 text.
 */
export function parseForm(body: Buffer): FormParams {
  let text: string
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(body)
  } catch (err) {
    throw refuse.request('body_not_utf8', 'request body is not UTF-8 text', err)
  }
  const params = new Map<string, string>()
  for (const [name, value] of new URLSearchParams(text)) {
    if (params.has(name)) throw refuse.request('parameter_repeated', `parameter "${printable(name)}" is repeated`)
    params.set(name, value)
  }
  return params
}

/** A parameter name safe to echo in a description: short and printable ASCII. */
export function printable(name: string): string {
  const cleaned = name.replace(/[^\x20-\x7e]/g, '?')
  return cleaned.length > 40 ? `${cleaned.slice(0, 40)}...` : cleaned
}
