import { importJWK, type CryptoKey } from 'jose'
import { JWS_ALGORITHMS } from '../jws-algorithms.js'
import type { KeyEntry, PublicJwk } from './types.js'

const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'k', 'oth'] as const

/** The algorithms a key of this type (and curve) may verify; 'oct' (HMAC) and unknown types: none. */
function algorithmsOf(jwk: PublicJwk): string[] {
  return JWS_ALGORITHMS.filter((alg) => alg.jwkKeyType === jwk.kty && (alg.jwkCurve === undefined || alg.jwkCurve === jwk.crv)).map((alg) => alg.name)
}

/** The `use` values of keys that verify workload and actor tokens: SPIFFE bundles mark theirs `jwt-svid`. */
export const TOKEN_KEY_USES: ReadonlySet<string> = new Set(['sig', 'jwt-svid'])
/** The `use` values of keys that verify WITs: SPIFFE WIT bundles mark theirs `wit-svid` (never a `jwt-svid` key). */
export const WIT_KEY_USES: ReadonlySet<string> = new Set(['sig', 'wit-svid'])

/**
 * Checks one JWK of a bundle and turns it into a {@link KeyEntry}, or says why it must be ignored.
 * Plain JWKS use `sig` or nothing; SPIFFE bundles mark each key with what it verifies (`uses`).
 */
export function toKeyEntry(raw: unknown, uses: ReadonlySet<string> = TOKEN_KEY_USES): KeyEntry | { ignored: string } {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return { ignored: 'not_an_object' }
  const jwk = raw as PublicJwk
  if (typeof jwk.kid !== 'string' || jwk.kid.length === 0) return { ignored: 'kid_missing' }
  if (jwk.use !== undefined && !uses.has(jwk.use)) return { ignored: 'use_not_sig' }
  if (jwk.key_ops !== undefined && !(Array.isArray(jwk.key_ops) && jwk.key_ops.includes('verify'))) {
    return { ignored: 'key_ops_without_verify' }
  }
  if (PRIVATE_MEMBERS.some((member) => member in jwk)) return { ignored: 'private_key_material' }
  let algorithms = algorithmsOf(jwk)
  if (jwk.alg !== undefined) algorithms = algorithms.filter((alg) => alg === jwk.alg)
  if (algorithms.length === 0) return { ignored: 'unsupported_key_type' }
  const { kty, crv, x, y, n, e } = jwk
  // Only the public members reach the importer: use/key_ops/alg were checked above.
  const material = Object.fromEntries(Object.entries({ kty, crv, x, y, n, e }).filter(([, v]) => v !== undefined))
  const imported = new Map<string, Promise<CryptoKey | Uint8Array>>()
  const ready = new Map<string, CryptoKey | Uint8Array>()
  return Object.freeze({
    kid: jwk.kid,
    algorithms: new Set(algorithms),
    key(alg: string): Promise<CryptoKey | Uint8Array> {
      let key = imported.get(alg)
      if (key === undefined) {
        key = importJWK(material, alg)
        imported.set(alg, key)
        void key.then(
          (value) => ready.set(alg, value),
          // A key that fails to import must not poison the cache for later attempts.
          () => imported.delete(alg),
        )
      }
      return key
    },
    keyNow(alg: string): CryptoKey | Uint8Array | undefined {
      return ready.get(alg)
    },
  })
}

/** Builds a kid → key map from a JWKS document, reporting every ignored key. */
export function toKeyMap(jwks: unknown, onIgnored: (reason: string) => void, uses?: ReadonlySet<string>): Map<string, KeyEntry> {
  const keys = new Map<string, KeyEntry>()
  const list = typeof jwks === 'object' && jwks !== null ? (jwks as { keys?: unknown }).keys : undefined
  if (!Array.isArray(list)) throw new TypeError('a JWKS must be an object with a "keys" array')
  const duplicates = new Set<string>()
  for (const raw of list) {
    const entry = toKeyEntry(raw, uses)
    if ('ignored' in entry) {
      onIgnored(entry.ignored)
      continue
    }
    if (keys.has(entry.kid)) duplicates.add(entry.kid)
    keys.set(entry.kid, entry)
  }
  // Two keys under one kid are ambiguous: neither is used.
  for (const kid of duplicates) {
    keys.delete(kid)
    onIgnored('duplicate_kid')
  }
  return keys
}
