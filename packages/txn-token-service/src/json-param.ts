/**
 * `request_context` and `request_details`: JSON objects as plain form text (draft §10). Parsed
 * with size, depth and member limits into objects without a prototype.
 */
import { refuse } from './errors.js'
import { putOwn } from './plain-data.js'

const MAX_DEPTH = 4
const MAX_MEMBERS = 64

/** Limits of one JSON parameter. */
export interface JsonParamLimits {
  maxBytes: number
  /** Members allowed at the top level; undefined allows any. */
  allowedKeys: ReadonlySet<string> | undefined
  /** Top-level members the service reserves for itself. */
  reservedKeys?: ReadonlySet<string> | undefined
}

/** Parses the parameter `name`; undefined when it was not sent. */
export function parseJsonParam(name: string, text: string | undefined, limits: JsonParamLimits): Record<string, unknown> | undefined {
  if (text === undefined) return undefined
  if (Buffer.byteLength(text, 'utf8') > limits.maxBytes) throw refuse.request(`${name}_too_large`, `${name} is larger than ${limits.maxBytes} bytes`)
  let parsed: unknown
  try {
    parsed = JSON.parse(text)
  } catch (err) {
    throw refuse.request(`${name}_malformed`, `${name} is not JSON`, err)
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw refuse.request(`${name}_malformed`, `${name} must be a JSON object`)
  }
  for (const key of Object.keys(parsed)) {
    if (limits.reservedKeys?.has(key) === true) throw refuse.request(`${name}_reserved_member`, `${name} may not set "${key}"`)
    if (limits.allowedKeys !== undefined && !limits.allowedKeys.has(key)) {
      throw refuse.request(`${name}_member_not_allowed`, `${name} has a member this service does not accept`)
    }
  }
  const counter = { members: 0 }
  return copy(parsed, name, 1, counter) as Record<string, unknown>
}

/** A deep copy with prototype-less objects, bounded in depth and total members. */
function copy(value: unknown, name: string, depth: number, counter: { members: number }): unknown {
  if (typeof value !== 'object' || value === null) return value
  if (depth > MAX_DEPTH) throw refuse.request(`${name}_too_deep`, `${name} is nested deeper than ${MAX_DEPTH} levels`)
  if (Array.isArray(value)) {
    counter.members += value.length
    if (counter.members > MAX_MEMBERS) throw refuse.request(`${name}_too_large`, `${name} has more than ${MAX_MEMBERS} members`)
    return value.map((item) => copy(item, name, depth + 1, counter))
  }
  const out: Record<string, unknown> = Object.create(null) as Record<string, unknown>
  for (const [key, item] of Object.entries(value)) {
    if (++counter.members > MAX_MEMBERS) throw refuse.request(`${name}_too_large`, `${name} has more than ${MAX_MEMBERS} members`)
    putOwn(out, key, copy(item, name, depth + 1, counter))
  }
  return out
}
