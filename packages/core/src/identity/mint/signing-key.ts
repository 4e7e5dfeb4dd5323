import { readFileSync } from 'node:fs'
import { createPrivateKey, KeyObject } from 'node:crypto'
import { ConfigError } from '../../errors.js'
import { JWS_ALGORITHMS } from '../jws-algorithms.js'

/** A private signing key: a `KeyObject`, a PEM (PKCS#8) string, `{ file }` or `{ env }` holding a PEM. */
export type SigningKeyInput = KeyObject | string | { file: string } | { env: string }

/** The algorithms meshguard mints with. */
export type SigningAlgorithm = 'EdDSA' | 'ES256'

/** The algorithm the table mints with for this key's type and curve, if any. */
function mintingAlgorithmOf(key: KeyObject): SigningAlgorithm | undefined {
  const type = key.asymmetricKeyType
  if (type === undefined) return undefined
  const curve = key.asymmetricKeyDetails?.namedCurve
  const alg = JWS_ALGORITHMS.find((a) => a.mintsWith && a.keyTypes.includes(type) && (a.namedCurve === undefined || a.namedCurve === curve))
  return alg?.name as SigningAlgorithm | undefined
}

/** A loaded signing key with the algorithm its type implies. */
export interface SigningKey {
  readonly key: KeyObject
  readonly alg: SigningAlgorithm
  readonly kid: string
}

function readPem(input: Exclude<SigningKeyInput, KeyObject>, option: string): string {
  if (typeof input === 'string') return input
  if ('file' in input) {
    try {
      return readFileSync(input.file, 'utf8')
    } catch (err) {
      throw new ConfigError(`${option}.file`, 'cannot be read', { cause: err })
    }
  }
  if ('env' in input) {
    const value = process.env[input.env]
    if (value === undefined || value.trim() === '') throw new ConfigError(`${option}.env`, `environment variable ${input.env} is empty`)
    // Env vars often carry PEMs with literal "\n".
    return value.includes('\\n') ? value.replace(/\\n/g, '\n') : value
  }
  throw new ConfigError(option, 'must be a KeyObject, a PEM string, { file } or { env }')
}

/**
 * Loads a private key once and works out its algorithm (Ed25519 → EdDSA, P-256 → ES256).
 *
 * @throws ConfigError for a missing `kid`, a public or unreadable key, or an unsupported key type
 */
export function loadSigningKey(input: SigningKeyInput, kid: string, option: string, alg?: SigningAlgorithm): SigningKey {
  if (typeof kid !== 'string' || kid.length === 0) throw new ConfigError(`${option}.kid`, 'is required')
  let key: KeyObject
  if (input instanceof KeyObject) key = input
  else {
    try {
      key = createPrivateKey(readPem(input, `${option}.key`))
    } catch (err) {
      if (err instanceof ConfigError) throw err
      throw new ConfigError(`${option}.key`, 'is not a PEM private key', { cause: err })
    }
  }
  if (key.type !== 'private') throw new ConfigError(`${option}.key`, 'must be a private key')
  const implied = mintingAlgorithmOf(key)
  if (implied === undefined) throw new ConfigError(`${option}.key`, 'must be an Ed25519 or P-256 key')
  if (alg !== undefined && alg !== implied) throw new ConfigError(`${option}.alg`, `does not match the key (${implied})`)
  return Object.freeze({ key, alg: implied, kid })
}
