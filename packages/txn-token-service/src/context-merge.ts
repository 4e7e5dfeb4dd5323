/**
 * Building `tctx` and `rctx`. A replacement may add members but never change one the replaced
 * token carried (draft §13.15: narrowing only; the service cannot tell a narrower value from a
 * wider one, so a changed value is refused).
 */
import { isDeepStrictEqual } from 'node:util'
import { refuse } from './errors.js'
import { putOwn } from './plain-data.js'

/** `earlier` with the members of `added`; undefined when both are absent or empty. */
export function mergeContext(
  name: 'request_details' | 'request_context',
  earlier: Readonly<Record<string, unknown>> | undefined,
  added: Readonly<Record<string, unknown>> | undefined,
): Record<string, unknown> | undefined {
  const out = Object.create(null) as Record<string, unknown>
  for (const [key, value] of Object.entries(earlier ?? {})) putOwn(out, key, value)
  for (const [key, value] of Object.entries(added ?? {})) {
    if (Object.hasOwn(out, key) && !isDeepStrictEqual(plain(out[key]), plain(value))) {
      throw refuse.request(`${name}_changed`, `${name} may add members to a replaced token but not change them`)
    }
    putOwn(out, key, value)
  }
  return Object.keys(out).length === 0 ? undefined : out
}

/** The value as JSON sees it (prototype-less and ordinary objects compare equal). */
const plain = (value: unknown): unknown => JSON.parse(JSON.stringify(value ?? null)) as unknown
