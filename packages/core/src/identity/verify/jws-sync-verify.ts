/**
 * The JWS signature step, done synchronously with node:crypto on the main thread. jose 6 runs its
 * signature checks through WebCrypto, which hops to the libuv threadpool and costs several times the
 * CPU of the check itself; keys are still imported by jose (`importJWK`), and every other check
 * (alg allowlist from the trust entry, kid lookup, `typ`, size, claims) stays where it was. This
 * module only answers "does this signature verify under this key for this algorithm".
 */
import { constants, KeyObject, verify, type webcrypto } from 'node:crypto'
import { IdentityError } from '../../errors.js'
import { JWS_ALGORITHMS, type JwsAlgorithm } from '../jws-algorithms.js'
import { TokenMemo } from './token-memo.js'

/** How node:crypto checks one JWS algorithm of the table, and which keys may be used for it. */
interface AlgorithmParameters {
  readonly digest: string | null
  readonly keyTypes: readonly string[]
  readonly namedCurve: string | undefined
  readonly signatureBytes: number | undefined
  readonly padding: number | undefined
  readonly saltLength: number | undefined
  readonly minRsaBits: number
}

function parametersOf(alg: JwsAlgorithm): AlgorithmParameters {
  return Object.freeze({
    digest: alg.digest,
    keyTypes: alg.keyTypes,
    namedCurve: alg.namedCurve,
    signatureBytes: alg.signatureBytes,
    padding: alg.rsaPadding === 'pss' ? constants.RSA_PKCS1_PSS_PADDING : alg.rsaPadding === 'pkcs1' ? constants.RSA_PKCS1_PADDING : undefined,
    saltLength: alg.saltLength,
    minRsaBits: alg.minRsaBits ?? 0,
  })
}

/** The table's algorithms with their node:crypto parameters, worked out once. */
const ALGORITHMS: ReadonlyMap<string, AlgorithmParameters> = new Map(JWS_ALGORITHMS.map((alg) => [alg.name, parametersOf(alg)]))

/** Keys converted once: the bundle hands out the same imported key object on every call. */
const keyObjects = new WeakMap<object, KeyObject>()

/** Tokens remembered per key and algorithm. */
const VERIFIED_PER_KEY = 512

/**
 * Exact tokens whose signature already verified, per key and algorithm. An actor token travels
 * unchanged with every new workload token of a session, so its signature is checked once, not on
 * every hop. Only successes are kept (forged tokens never get in), the whole token is compared,
 * and everything but the signature (times, audience, binding) is still checked on every request.
 */
const verifiedTokens = new WeakMap<KeyObject, Map<string, TokenMemo<true>>>()

function verifiedSetOf(key: KeyObject, alg: string): TokenMemo<true> {
  let byAlg = verifiedTokens.get(key)
  if (byAlg === undefined) {
    byAlg = new Map()
    verifiedTokens.set(key, byAlg)
  }
  let tokens = byAlg.get(alg)
  if (tokens === undefined) {
    tokens = new TokenMemo(VERIFIED_PER_KEY)
    byAlg.set(alg, tokens)
  }
  return tokens
}

const keyMismatch = (): IdentityError => new IdentityError('alg_not_allowed', 'trusted key cannot be used for the token algorithm')

/** The public KeyObject behind a key, refusing secrets, private keys and keys not meant for verifying. */
function publicKeyObject(key: webcrypto.CryptoKey | KeyObject | Uint8Array): KeyObject {
  if (key instanceof KeyObject) {
    if (key.type !== 'public') throw keyMismatch()
    return key
  }
  // A Uint8Array is an HMAC secret: never a verification key here (HMAC/public-key confusion).
  if (key instanceof Uint8Array || typeof key !== 'object' || (key as unknown) === null) throw keyMismatch()
  let converted = keyObjects.get(key)
  if (converted === undefined) {
    if (key.type !== 'public' || !key.usages.includes('verify')) throw keyMismatch()
    converted = KeyObject.from(key)
    keyObjects.set(key, converted)
  }
  return converted
}

/** Whether a key's type (and curve or size) fits the algorithm: the key-type confusion check. */
function keyFits(key: KeyObject, parameters: AlgorithmParameters): boolean {
  const type = key.asymmetricKeyType
  if (type === undefined || !parameters.keyTypes.includes(type)) return false
  const details = key.asymmetricKeyDetails
  if (parameters.namedCurve !== undefined) return details?.namedCurve === parameters.namedCurve
  if (type === 'rsa' || type === 'rsa-pss') return (details?.modulusLength ?? 0) >= parameters.minRsaBits
  return true
}

/**
 * Decodes the signature part. The grammar check upstream guarantees the alphabet; here a length
 * no encoder produces (4n+1) and non-canonical trailing bits are refused, so one signature has
 * exactly one spelling.
 */
function decodeSignature(encoded: string): Buffer {
  if (encoded.length % 4 === 1 || /[^A-Za-z0-9_-]/.test(encoded)) {
    throw new IdentityError('token_malformed', 'token signature is not base64url')
  }
  if (!hasCanonicalTail(encoded)) throw new IdentityError('token_malformed', 'token signature is not canonical base64url')
  return Buffer.from(encoded, 'base64url')
}

/** The 6-bit value of a base64url character (the alphabet was checked before). */
function sextet(code: number): number {
  if (code === 45) return 62 // -
  if (code === 95) return 63 // _
  if (code >= 97) return code - 71 // a-z: 26..51
  if (code >= 65) return code - 65 // A-Z: 0..25
  return code + 4 // 0-9: 52..61
}

/**
 * Whether the bits after the last whole byte are zero, as every encoder writes them. A length of
 * 4n+2 characters leaves 4 spare bits in the last one, 4n+3 leaves 2; set, they spell the same bytes
 * differently. (Checked on the last character instead of re-encoding the decoded bytes.)
 */
function hasCanonicalTail(encoded: string): boolean {
  const rest = encoded.length % 4
  if (rest === 0) return true
  const spare = rest === 2 ? 0x0f : 0x03
  return (sextet(encoded.charCodeAt(encoded.length - 1)) & spare) === 0
}

/**
 * Verifies the signature of a compact JWS with a trusted key, synchronously. The algorithm must be
 * the one the caller already checked against the trust entry's allowlist (never the token's `alg`
 * alone); the key must be a public key of the matching type, curve and size.
 *
 * @param token - a compact JWS that passed `parseCompactToken` (grammar and size)
 * @param key - the key jose imported for `alg` (a CryptoKey), or a public KeyObject
 * @param alg - the JWS algorithm to verify with
 * @param options - `remember: false` for tokens that never come back here (a fresh workload token
 *   per request: the verifier's own cache serves repeats), so they are neither looked up nor kept
 * @throws IdentityError `alg_not_allowed` (unknown algorithm, or a key of another type),
 *   `token_malformed` (not three parts, bad base64url), `signature_invalid`
 */
export function verifyJwsSignature(
  token: string,
  key: webcrypto.CryptoKey | KeyObject | Uint8Array,
  alg: string,
  options: { readonly remember?: boolean; readonly offload?: boolean } = {},
): void | Promise<void> {
  const parameters = ALGORITHMS.get(alg)
  if (parameters === undefined) throw new IdentityError('alg_not_allowed', 'token algorithm is not allowed')
  const keyObject = publicKeyObject(key)
  if (!keyFits(keyObject, parameters)) throw keyMismatch()
  const verified = options.remember === false ? undefined : verifiedSetOf(keyObject, alg)
  if (verified?.get(token) === true) return
  const lastDot = token.lastIndexOf('.')
  const firstDot = token.indexOf('.')
  if (firstDot <= 0 || lastDot === firstDot || token.indexOf('.', firstDot + 1) !== lastDot) {
    throw new IdentityError('token_malformed', 'token is not a compact JWS')
  }
  const signature = decodeSignature(token.slice(lastDot + 1))
  // A fixed-size signature of the wrong size cannot verify (and P1363 parsing never sees it).
  if (parameters.signatureBytes !== undefined && signature.length !== parameters.signatureBytes) {
    throw new IdentityError('signature_invalid', 'token signature is invalid')
  }
  const data = Buffer.from(token.slice(0, lastDot), 'latin1')
  const keyInput = { key: keyObject, dsaEncoding: 'ieee-p1363' as const, padding: parameters.padding, saltLength: parameters.saltLength }
  if (options.offload === true) {
    // The same check on a libuv threadpool thread: the event loop goes on serving other requests.
    return new Promise<void>((resolve, reject) => {
      verify(parameters.digest, data, keyInput, signature, (err, valid) => {
        if (err !== null) reject(new IdentityError('signature_invalid', 'token signature is invalid', { cause: err }))
        else if (!valid) reject(new IdentityError('signature_invalid', 'token signature is invalid'))
        else {
          verified?.set(token, true)
          resolve()
        }
      })
    })
  }
  let valid: boolean
  try {
    valid = verify(parameters.digest, data, keyInput, signature)
  } catch (err) {
    throw new IdentityError('signature_invalid', 'token signature is invalid', { cause: err })
  }
  if (!valid) throw new IdentityError('signature_invalid', 'token signature is invalid')
  verified?.set(token, true)
}
