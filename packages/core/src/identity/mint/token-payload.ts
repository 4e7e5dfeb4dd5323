/**
 * Reads the payload of a compact JWS the minting side holds but does not verify (a Txn-Token it
 * forwards, one the Txn-Token Service just issued): only to copy `txn` and `exp` into what it mints.
 * Receivers verify everything.
 */

const COMPACT = /^[A-Za-z0-9_-]+\.([A-Za-z0-9_-]+)\.[A-Za-z0-9_-]*$/

/**
 * The JSON-object payload of a compact JWS of at most `maxBytes`, or undefined when it is not one.
 * Never throws. The object has no prototype.
 */
export function unverifiedPayload(token: string, maxBytes: number): Readonly<Record<string, unknown>> | undefined {
  if (typeof token !== 'string' || token.length > maxBytes) return undefined
  const match = COMPACT.exec(token)
  if (match === null) return undefined
  try {
    const value: unknown = JSON.parse(Buffer.from(match[1] as string, 'base64url').toString('utf8'))
    if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined
    return Object.assign(Object.create(null) as Record<string, unknown>, value)
  } catch {
    return undefined
  }
}
