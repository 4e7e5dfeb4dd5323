/**
 * `auxData.jwt.token` as the Cerbos HTTP API sends it, read the way a PDP configured with
 * `auxData.jwt.disableVerification: true` reads it: the claims are decoded, registered claims are
 * type-checked and the time claims enforced, but the signature is NOT verified. The CLI has no key
 * sets, and whoever writes its stdin controls the whole request anyway (principal attributes
 * included), so there is no trust boundary for a signature to protect here.
 */
import { RequestError } from '@meshguard/core'

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v)

function invalid(why: string): never {
  // The PDP answers every token problem with this one message.
  throw new RequestError('invalid auxData', { reason: 'invalid_aux_data', cause: new Error(why) })
}

function decodePart(part: string | undefined): Record<string, unknown> {
  if (part === undefined || !/^[A-Za-z0-9_-]+$/.test(part)) invalid('not a compact JWS')
  let value: unknown
  try {
    value = JSON.parse(Buffer.from(part, 'base64url').toString('utf8'))
  } catch {
    invalid('not base64url JSON')
  }
  if (!isRecord(value)) invalid('not a JSON object')
  return value
}

/**
 * Decodes the claims of an unverified JWT.
 *
 * @param nowSeconds - the clock for `exp`, `nbf` and `iat` (no leeway, as the PDP)
 * @throws RequestError (`invalid_aux_data`) for anything the PDP would refuse
 */
export function decodeUnverifiedClaims(token: string, nowSeconds: number): Record<string, unknown> {
  const parts = token.split('.')
  if (parts.length !== 3) invalid('a JWT has three parts')
  decodePart(parts[0])
  const claims = decodePart(parts[1])
  for (const name of ['iss', 'sub', 'jti']) {
    if (name in claims && typeof claims[name] !== 'string') invalid(`${name} must be a string`)
  }
  if ('aud' in claims) {
    const aud = claims['aud']
    // The PDP's JWT parser always hands policies a list.
    if (typeof aud === 'string') claims['aud'] = [aud]
    else if (!Array.isArray(aud) || !aud.every((a) => typeof a === 'string')) invalid('aud must be a string or a list of strings')
  }
  for (const name of ['exp', 'nbf', 'iat']) {
    if (name in claims && typeof claims[name] !== 'number') invalid(`${name} must be a number`)
  }
  const { exp, nbf, iat } = claims as { exp?: number; nbf?: number; iat?: number }
  if (exp !== undefined && exp <= nowSeconds) invalid('expired')
  if (nbf !== undefined && nbf > nowSeconds) invalid('not yet valid')
  if (iat !== undefined && iat > nowSeconds) invalid('issued in the future')
  return claims
}
