/**
 * The service's signing keys: which one signs, which are published, and rotation without a restart.
 * A rotated-in key is published `activationDelay` before it signs (receivers holding a cached JWKS
 * learn it first); a superseded key stays published until every token it signed has expired.
 */
import { constants, createPrivateKey, createPublicKey, KeyObject, sign, verify } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { ConfigError, type JsonWebKeySet, type PublicJwk } from '@meshguard/core'
import type { TxnTokenAlgorithm, TxnTokenSigningKeyInput } from './options.js'

interface RingEntry {
  readonly kid: string
  readonly alg: TxnTokenAlgorithm
  readonly privateKey: KeyObject
  readonly publicKey: KeyObject
  readonly jwk: PublicJwk
  /** Signs from this time on (ms); -Infinity: from the start; +Infinity: published only. */
  readonly activeFrom: number
  /** When a newer key took over (ms). */
  supersededAt: number | undefined
}

function readPem(input: Exclude<TxnTokenSigningKeyInput['key'], KeyObject>, option: string): string {
  if (typeof input === 'string') return input
  if ('file' in input) {
    try {
      return readFileSync(input.file, 'utf8')
    } catch (err) {
      throw new ConfigError(`${option}.key.file`, 'cannot be read', { cause: err })
    }
  }
  const value = process.env[input.env]
  if (value === undefined || value.trim() === '') throw new ConfigError(`${option}.key.env`, `environment variable ${input.env} is empty`)
  return value.includes('\\n') ? value.replace(/\\n/g, '\n') : value
}

/** The algorithm a private key signs with: its type decides, `wanted` may pick RS256 for RSA. */
function algorithmOf(key: KeyObject, wanted: TxnTokenAlgorithm | undefined, option: string): TxnTokenAlgorithm {
  let implied: TxnTokenAlgorithm[]
  if (key.asymmetricKeyType === 'ed25519') implied = ['EdDSA']
  else if (key.asymmetricKeyType === 'ec' && key.asymmetricKeyDetails?.namedCurve === 'prime256v1') implied = ['ES256']
  else if (key.asymmetricKeyType === 'rsa' && (key.asymmetricKeyDetails?.modulusLength ?? 0) >= 2048) implied = ['PS256', 'RS256']
  else throw new ConfigError(`${option}.key`, 'must be an Ed25519, P-256 or RSA (2048 bits or more) private key')
  const alg = wanted ?? implied[0]
  if (alg === undefined || !implied.includes(alg)) throw new ConfigError(`${option}.alg`, `does not match the key (${implied.join(' or ')})`)
  return alg
}

function loadEntry(input: TxnTokenSigningKeyInput, option: string, activeFrom: number, allowed: readonly TxnTokenAlgorithm[] | undefined): RingEntry {
  if (typeof input !== 'object' || (input as unknown) === null) throw new ConfigError(option, 'must be { key, kid }')
  if (typeof input.kid !== 'string' || input.kid === '' || input.kid.length > 256) throw new ConfigError(`${option}.kid`, 'is required')
  let privateKey: KeyObject
  if (input.key instanceof KeyObject) privateKey = input.key
  else {
    try {
      privateKey = createPrivateKey(readPem(input.key, option))
    } catch (err) {
      if (err instanceof ConfigError) throw err
      throw new ConfigError(`${option}.key`, 'is not a PEM private key', { cause: err })
    }
  }
  if (privateKey.type !== 'private') throw new ConfigError(`${option}.key`, 'must be a private key')
  const alg = algorithmOf(privateKey, input.alg, option)
  if (allowed !== undefined && !allowed.includes(alg)) throw new ConfigError(`${option}.key`, `must be a key for ${allowed.join(' or ')}`)
  const publicKey = createPublicKey(privateKey)
  const jwk: PublicJwk = Object.freeze({ ...(publicKey.export({ format: 'jwk' }) as PublicJwk), kid: input.kid, alg, use: 'sig' })
  return { kid: input.kid, alg, privateKey, publicKey, jwk, activeFrom, supersededAt: undefined }
}

/** Signature bytes of `data` under `alg` (JWS encoding: raw r||s for ECDSA). */
function signBytes(alg: TxnTokenAlgorithm, key: KeyObject, data: Buffer): Buffer {
  switch (alg) {
    case 'EdDSA':
      return sign(null, data, key)
    case 'ES256':
      return sign('sha256', data, { key, dsaEncoding: 'ieee-p1363' })
    case 'PS256':
      return sign('sha256', data, { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 })
    case 'RS256':
      return sign('sha256', data, key)
  }
}

/** Whether `signature` is a valid JWS signature of `data` under `alg` (node:crypto, synchronous). */
export function verifyBytes(alg: TxnTokenAlgorithm, key: KeyObject, data: Buffer, signature: Buffer): boolean {
  switch (alg) {
    case 'EdDSA':
      return verify(null, data, key, signature)
    case 'ES256':
      return verify('sha256', data, { key, dsaEncoding: 'ieee-p1363' }, signature)
    case 'PS256':
      return verify('sha256', data, { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 }, signature)
    case 'RS256':
      return verify('sha256', data, key, signature)
  }
}

/** Timing of the ring, in milliseconds. */
export interface KeyRingTiming {
  readonly clock: () => number
  /** How long a token can live: a superseded key is published this long (plus tolerance) after. */
  readonly retainMs: number
  /** How long a rotated-in key is published before it signs. */
  readonly activationDelayMs: number
  /** The algorithms this ring may sign with. @defaultValue any the key type allows */
  readonly algorithms?: readonly TxnTokenAlgorithm[] | undefined
  /** The option naming the keys in configuration errors. @defaultValue `'signingKeys'` */
  readonly option?: string | undefined
}

/** The signing keys of one service. */
export class SigningKeyRing {
  private entries: RingEntry[]

  constructor(
    inputs: readonly TxnTokenSigningKeyInput[],
    private readonly timing: KeyRingTiming,
  ) {
    const option = timing.option ?? 'signingKeys'
    if (!Array.isArray(inputs) || inputs.length === 0) throw new ConfigError(option, 'must list at least one key')
    // The first key signs from the start; the others are only published (earlier or upcoming keys).
    this.entries = inputs.map((input: TxnTokenSigningKeyInput, i: number) => loadEntry(input, `${option}[${i}]`, i === 0 ? -Infinity : Infinity, timing.algorithms))
    const kids = new Set(this.entries.map((e) => e.kid))
    if (kids.size !== this.entries.length) throw new ConfigError(option, 'kids must be unique')
  }

  /** The key that signs now: the newest one whose activation time has come. */
  private signer(now: number): RingEntry {
    let best: RingEntry | undefined
    for (const entry of this.entries) {
      if (entry.activeFrom <= now && (best === undefined || entry.activeFrom >= best.activeFrom)) best = entry
    }
    // The constructor guarantees one key active from the start, and retirement never drops the signer.
    return best as RingEntry
  }

  /** Drops keys superseded longer ago than any of their tokens can live. */
  private prune(now: number): void {
    const signer = this.signer(now)
    for (const entry of this.entries) {
      if (entry !== signer && entry.supersededAt === undefined && entry.activeFrom !== Infinity && entry.activeFrom < signer.activeFrom) {
        entry.supersededAt = signer.activeFrom
      }
    }
    this.entries = this.entries.filter((e) => e.supersededAt === undefined || now <= e.supersededAt + this.timing.retainMs)
  }

  /** Adds a key that is published now and signs after the activation delay. */
  rotate(input: TxnTokenSigningKeyInput): void {
    const now = this.timing.clock()
    this.prune(now)
    if (this.entries.some((e) => e.kid === input.kid)) throw new ConfigError('rotateKey.kid', 'is already in use')
    this.entries.push(loadEntry(input, 'rotateKey', now + this.timing.activationDelayMs, this.timing.algorithms))
  }

  /** The published keys. */
  jwks(): JsonWebKeySet {
    this.prune(this.timing.clock())
    return { keys: this.entries.map((e) => ({ ...e.jwk })) }
  }

  /** Signs claims as a compact JWS with `typ`. */
  sign(claims: Record<string, unknown>, typ: string): string {
    const now = this.timing.clock()
    this.prune(now)
    const entry = this.signer(now)
    const header = Buffer.from(JSON.stringify({ alg: entry.alg, kid: entry.kid, typ })).toString('base64url')
    const payload = Buffer.from(JSON.stringify(claims)).toString('base64url')
    const input = `${header}.${payload}`
    return `${input}.${signBytes(entry.alg, entry.privateKey, Buffer.from(input)).toString('base64url')}`
  }

  /**
   * Checks a compact JWS against the published keys; returns its decoded header and payload text,
   * or undefined when the signature, `alg` or `kid` does not hold.
   */
  verify(token: string): { header: Record<string, unknown>; payload: unknown } | undefined {
    const [headerPart, payloadPart, signaturePart] = token.split('.')
    if (headerPart === undefined || payloadPart === undefined || signaturePart === undefined) return undefined
    let header: unknown
    let payload: unknown
    try {
      header = JSON.parse(Buffer.from(headerPart, 'base64url').toString('utf8'))
      payload = JSON.parse(Buffer.from(payloadPart, 'base64url').toString('utf8'))
    } catch {
      return undefined
    }
    if (typeof header !== 'object' || header === null || Array.isArray(header)) return undefined
    const { alg, kid, crit } = header as Record<string, unknown>
    if (crit !== undefined) return undefined
    this.prune(this.timing.clock())
    const entry = this.entries.find((e) => e.kid === kid)
    if (entry === undefined || entry.alg !== alg) return undefined
    let ok: boolean
    try {
      ok = verifyBytes(entry.alg, entry.publicKey, Buffer.from(`${headerPart}.${payloadPart}`), Buffer.from(signaturePart, 'base64url'))
    } catch {
      // node:crypto throws on some malformed signatures instead of answering false.
      ok = false
    }
    return ok ? { header: header as Record<string, unknown>, payload } : undefined
  }
}
