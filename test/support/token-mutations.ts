/**
 * Token mutations for the fuzz suites: character swaps, deletions, insertions, truncation, part
 * reordering, and re-encoded headers or payloads with one member changed under the old signature.
 */
import fc from 'fast-check'

const B64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'
const b64 = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url')
const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null

/** True when `mutated` decodes to exactly the same JWS as `original` (same signing input, same signature bytes). */
export function sameJws(original: string, mutated: string): boolean {
  const [h1, p1, s1] = original.split('.')
  const [h2, p2, s2, ...rest] = mutated.split('.')
  if (rest.length > 0 || h1 !== h2 || p1 !== p2 || s2 === undefined) return false
  return Buffer.from(s1 ?? '', 'base64url').equals(Buffer.from(s2, 'base64url'))
}

export type Mutation = (token: string) => string
export const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.tuple(fc.nat(), fc.constantFrom(...Array.from(B64URL))).map(([i, c]): Mutation => (t) => {
    const at = i % t.length
    return t.slice(0, at) + c + t.slice(at + 1)
  }),
  fc.nat().map((i): Mutation => (t) => {
    const at = i % t.length
    return t.slice(0, at) + t.slice(at + 1)
  }),
  fc.tuple(fc.nat(), fc.string({ maxLength: 4 })).map(([i, s]): Mutation => (t) => {
    const at = i % t.length
    return t.slice(0, at) + s + t.slice(at)
  }),
  fc.nat().map((i): Mutation => (t) => t.slice(0, i % t.length)),
  fc.constant<Mutation>((t) => t.split('.').reverse().join('.')),
  // Re-encode the header or payload with a changed member, keeping the old signature.
  fc.tuple(fc.boolean(), fc.constantFrom('alg', 'typ', 'kid', 'iss', 'sub', 'aud', 'exp', 'iat', 'ath', 'act', 'jku', 'txn', 'scope', 'req_wl', 'tctx', 'tth'), fc.jsonValue()).map(
    ([header, key, value]): Mutation =>
      (t) => {
        const [h = '', p = '', s = ''] = t.split('.')
        let part: unknown
        try {
          part = JSON.parse(Buffer.from(header ? h : p, 'base64url').toString())
        } catch {
          return t // an earlier mutation already broke this part
        }
        if (!isRecord(part)) return t
        part[key] = value
        return header ? `${b64(part)}.${p}.${s}` : `${h}.${b64(part)}.${s}`
      },
  ),
)
