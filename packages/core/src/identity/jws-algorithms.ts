/**
 * The one table of JWS algorithms meshguard knows (RFC 7518 §3, RFC 8037, RFC 9864 `Ed25519`).
 * Key parsing, signature checks, signing keys and trust anchors all read it; HMAC and `none` are
 * not in it, so they are never accepted.
 */

/** One asymmetric JWS algorithm: the keys it takes, how it is checked, and whether it is on by default. */
export interface JwsAlgorithm {
  readonly name: string
  /** The JWK `kty` of its keys. */
  readonly jwkKeyType: 'OKP' | 'EC' | 'RSA'
  /** The JWK `crv` its keys must have (OKP and EC). */
  readonly jwkCurve?: string
  /** Key types (`KeyObject.asymmetricKeyType`) that may verify it. */
  readonly keyTypes: readonly string[]
  /** The EC curve its keys must be on (OpenSSL name). */
  readonly namedCurve?: string
  /** Digest for `crypto.verify` (null: the key type implies it, as for Ed25519). */
  readonly digest: string | null
  /** Exact signature length in bytes, where the algorithm fixes it (ECDSA in IEEE P1363 form, Ed25519). */
  readonly signatureBytes?: number
  /** RSA padding; PSS salt length equals the digest length (RFC 7518 §3.5). */
  readonly rsaPadding?: 'pkcs1' | 'pss'
  readonly saltLength?: number
  /** RSA keys shorter than this are refused, as jose refuses them. */
  readonly minRsaBits?: number
  /** In a trust anchor's allowlist when it names none. */
  readonly onByDefault: boolean
  /** The algorithm meshguard mints with for keys of this type. */
  readonly mintsWith: boolean
}

const MIN_RSA_BITS = 2048

const ecdsa = (name: string, jwkCurve: string, namedCurve: string, digest: string, signatureBytes: number, onByDefault: boolean, mintsWith = false): JwsAlgorithm =>
  Object.freeze({ name, jwkKeyType: 'EC', jwkCurve, keyTypes: Object.freeze(['ec']), namedCurve, digest, signatureBytes, onByDefault, mintsWith })
const pss = (name: string, digest: string, saltLength: number, onByDefault: boolean): JwsAlgorithm =>
  Object.freeze({ name, jwkKeyType: 'RSA', keyTypes: Object.freeze(['rsa', 'rsa-pss']), digest, rsaPadding: 'pss', saltLength, minRsaBits: MIN_RSA_BITS, onByDefault, mintsWith: false })
const pkcs1 = (name: string, digest: string, onByDefault: boolean): JwsAlgorithm =>
  Object.freeze({ name, jwkKeyType: 'RSA', keyTypes: Object.freeze(['rsa']), digest, rsaPadding: 'pkcs1', minRsaBits: MIN_RSA_BITS, onByDefault, mintsWith: false })
const ed25519 = (name: string, mintsWith: boolean): JwsAlgorithm =>
  Object.freeze({ name, jwkKeyType: 'OKP', jwkCurve: 'Ed25519', keyTypes: Object.freeze(['ed25519']), digest: null, signatureBytes: 64, onByDefault: true, mintsWith })

/** Every algorithm, in the order the default allowlist lists them. */
export const JWS_ALGORITHMS: readonly JwsAlgorithm[] = Object.freeze([
  ed25519('EdDSA', true),
  ed25519('Ed25519', false),
  ecdsa('ES256', 'P-256', 'prime256v1', 'sha256', 64, true, true),
  ecdsa('ES384', 'P-384', 'secp384r1', 'sha384', 96, true),
  ecdsa('ES512', 'P-521', 'secp521r1', 'sha512', 132, false),
  pss('PS256', 'sha256', 32, true),
  pss('PS384', 'sha384', 48, false),
  pss('PS512', 'sha512', 64, false),
  pkcs1('RS256', 'sha256', true),
  pkcs1('RS384', 'sha384', false),
  pkcs1('RS512', 'sha512', false),
])

/** The algorithms by name. */
export const JWS_ALGORITHMS_BY_NAME: ReadonlyMap<string, JwsAlgorithm> = new Map(JWS_ALGORITHMS.map((alg) => [alg.name, alg]))

/** Every asymmetric JWS algorithm meshguard can verify. HMAC and `none` are never accepted. */
export const ASYMMETRIC_ALGORITHMS: ReadonlySet<string> = new Set(JWS_ALGORITHMS.map((alg) => alg.name))

/** The default algorithm allowlist of a trust anchor. */
export const DEFAULT_ALGORITHMS: readonly string[] = Object.freeze(JWS_ALGORITHMS.filter((alg) => alg.onByDefault).map((alg) => alg.name))
