/** DPoP (RFC 9449) client helpers for tests: a client key and proofs for requests, good or broken. */
import { createHash, generateKeyPairSync, randomUUID, sign, type KeyObject } from 'node:crypto'
import { jwkThumbprint, type PublicJwk } from '../../packages/core/src/identity/index.js'

/** A client's DPoP key: ES256. */
export interface ClientKey {
  privateKey: KeyObject
  jwk: PublicJwk
  jkt: string
}

export function clientKey(): ClientKey {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' })
  const jwk = publicKey.export({ format: 'jwk' }) as PublicJwk
  return { privateKey, jwk, jkt: jwkThumbprint(jwk) }
}

/** base64url of a JSON value (a JWS part). */
export const b64 = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url')

/** A DPoP proof; `header`/`claims` override (undefined deletes). */
export function proof(
  key: ClientKey,
  request: { method: string; url: string; token: string },
  overrides: { header?: Record<string, unknown>; claims?: Record<string, unknown>; signWith?: KeyObject } = {},
): string {
  const defined = (fields: Record<string, unknown>): Record<string, unknown> => Object.fromEntries(Object.entries(fields).filter(([, v]) => v !== undefined))
  const header = defined({ typ: 'dpop+jwt', alg: 'ES256', jwk: key.jwk, ...overrides.header })
  const claims = defined({
    jti: randomUUID(),
    htm: request.method,
    htu: request.url,
    iat: Math.floor(Date.now() / 1000),
    ath: createHash('sha256').update(request.token).digest('base64url'),
    ...overrides.claims,
  })
  const input = `${b64(header)}.${b64(claims)}`
  const signature = sign('sha256', Buffer.from(input), { key: overrides.signWith ?? key.privateKey, dsaEncoding: 'ieee-p1363' })
  return `${input}.${signature.toString('base64url')}`
}

