import { RequestError } from '@meshguard/core'
import type { Dispatcher } from 'undici'

/** A header bag with lower-case names, the form this client hands to the next dispatcher. */
export type HeaderRecord = Record<string, string | string[]>

const malformed = (message: string): RequestError => new RequestError(message, { reason: 'headers_malformed' })

/**
 * Copies the headers of a dispatch into a fresh lower-cased record, in any of the forms undici
 * accepts (flat array, object, iterable of pairs). Values of names in `drop` are left out, so a
 * caller-supplied identity header can never ride along with (or instead of) ours.
 *
 * @throws RequestError (`headers_malformed`) for header shapes undici itself would reject.
 */
export function copyHeaders(headers: Dispatcher.DispatchOptions['headers'], drop: ReadonlySet<string>): HeaderRecord {
  const out: HeaderRecord = {}
  const add = (name: unknown, value: unknown): void => {
    if (value === undefined || value === null) return
    const key = (typeof name === 'string' ? name : String(name)).toLowerCase()
    if (drop.has(key)) return
    const existing = out[key]
    if (existing === undefined && typeof value === 'string') {
      out[key] = value
      return
    }
    // eslint-disable-next-line @typescript-eslint/no-base-to-string -- undici turns header values into text with String() too
    const values = Array.isArray(value) ? value.map(String) : [String(value)]
    if (existing === undefined) out[key] = values.length === 1 ? (values[0] as string) : values
    else out[key] = [...(Array.isArray(existing) ? existing : [existing]), ...values]
  }
  if (headers === undefined || headers === null) return out
  if (Array.isArray(headers)) {
    // undici's flat form: [name, value, name, value, ...]
    if (headers.length % 2 !== 0) throw malformed('a flat header array must have an even length')
    for (let i = 0; i + 1 < headers.length; i += 2) add(headers[i], headers[i + 1])
    return out
  }
  if (typeof (headers as Iterable<unknown>)[Symbol.iterator] === 'function') {
    for (const pair of headers as Iterable<unknown>) {
      if (!Array.isArray(pair) || pair.length !== 2) throw malformed('each header entry must be a [name, value] pair')
      add(pair[0], pair[1])
    }
    return out
  }
  const record = headers as Record<string, string | string[] | undefined>
  for (const name in record) if (Object.hasOwn(record, name)) add(name, record[name])
  return out
}
