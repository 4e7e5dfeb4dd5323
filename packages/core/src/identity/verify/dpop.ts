/**
 * DPoP proofs (RFC 9449 §4.3) for sender-constrained access tokens at the edge: the proof is a JWT
 * the client signs with the key its token is bound to (`cnf.jkt`), for this request's method and
 * URI, recently, once. Every check here runs before the token is believed.
 */
import { createHash, createHmac, createPublicKey, timingSafeEqual, type KeyObject } from 'node:crypto'
import { ConfigError, IdentityError, UnavailableError } from '../../errors.js'
import type { MaybePromise } from '../../internal/maybe-async.js'
import { parseCompactToken } from './compact.js'
import { ASYMMETRIC_ALGORITHMS, DEFAULT_ALGORITHMS } from '../jws-algorithms.js'
import { verifyJwsSignature } from './jws-sync-verify.js'
import { createMemoryReplayStore, type ReplayStore } from './replay.js'
import { normalizeTyp } from '../wire.js'

/** Options of DPoP at the edge (`dpop`). */
export interface DpopOptions {
  /** Refuse plain bearer tokens altogether (every token must be DPoP-bound). @defaultValue false */
  required?: boolean | undefined
  /** Algorithms a proof may use (asymmetric only). @defaultValue EdDSA, Ed25519, ES256, ES384, PS256, RS256 */
  algorithms?: string[] | undefined
  /** How long after its `iat` a proof is accepted, seconds (plus the clock tolerance). @defaultValue 60 */
  maxProofAge?: number | undefined
  /**
   * Server nonces (RFC 9449 §8): every proof must carry a `nonce` this service issued (HMAC with
   * `secret`, at least 32 bytes) within `ttl` seconds; otherwise `dpop_nonce_required`, and the
   * challenge carries a fresh `DPoP-Nonce`.
   */
  nonce?: { secret: string | Uint8Array; ttl?: number | undefined } | undefined
  /** Where used proof `jti`s are kept. @defaultValue an in-memory store of 100000 */
  replayStore?: ReplayStore | undefined
}

/** DPoP settings after validation. */
export interface DpopSettings {
  readonly required: boolean
  readonly algorithms: ReadonlySet<string>
  readonly maxProofAge: number
  readonly nonceSecret: Buffer | undefined
  readonly nonceTtl: number
  readonly replayStore: ReplayStore
}

const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'k', 'oth']

/** Validates `dpop` options once. */
export function resolveDpop(options: DpopOptions | undefined, option: string): DpopSettings {
  const o = options ?? {}
  if (typeof o !== 'object' || (o as unknown) === null) throw new ConfigError(option, 'must be an object')
  const algorithms = o.algorithms ?? DEFAULT_ALGORITHMS
  if (!Array.isArray(algorithms) || algorithms.length === 0 || algorithms.some((a) => typeof a !== 'string' || !ASYMMETRIC_ALGORITHMS.has(a))) {
    throw new ConfigError(`${option}.algorithms`, 'must be a non-empty list of asymmetric algorithms')
  }
  const maxProofAge = o.maxProofAge ?? 60
  if (!Number.isFinite(maxProofAge) || maxProofAge <= 0 || maxProofAge > 600) throw new ConfigError(`${option}.maxProofAge`, 'must be between 0 and 600 seconds')
  let nonceSecret: Buffer | undefined
  let nonceTtl = 300
  if (o.nonce !== undefined) {
    const { secret, ttl } = o.nonce
    nonceSecret = typeof secret === 'string' ? Buffer.from(secret, 'utf8') : secret instanceof Uint8Array ? Buffer.from(secret) : undefined
    if (nonceSecret === undefined || nonceSecret.length < 32) throw new ConfigError(`${option}.nonce.secret`, 'must be at least 32 bytes')
    nonceTtl = ttl ?? 300
    if (!Number.isFinite(nonceTtl) || nonceTtl <= 0) throw new ConfigError(`${option}.nonce.ttl`, 'must be a positive number of seconds')
  }
  if (o.replayStore !== undefined && typeof (o.replayStore as typeof o.replayStore | null)?.consume !== 'function') throw new ConfigError(`${option}.replayStore`, 'must have consume(key, expiresAtMs, nowMs)')
  return Object.freeze({
    required: o.required === true,
    algorithms: new Set(algorithms),
    maxProofAge,
    nonceSecret,
    nonceTtl,
    replayStore: o.replayStore ?? createMemoryReplayStore(),
  })
}

const invalid = (why: string): IdentityError => new IdentityError('dpop_proof_invalid', `DPoP proof ${why}`)

/** A fresh server nonce: the issue time and its HMAC. */
export function issueNonce(secret: Buffer, nowMs: number): string {
  const issued = Math.floor(nowMs / 1000).toString(36)
  return `${issued}.${createHmac('sha256', secret).update(issued).digest('base64url')}`
}

function nonceValid(nonce: unknown, secret: Buffer, ttl: number, nowMs: number): boolean {
  if (typeof nonce !== 'string' || nonce.length > 128) return false
  const dot = nonce.indexOf('.')
  if (dot <= 0) return false
  const issued = nonce.slice(0, dot)
  const expected = Buffer.from(createHmac('sha256', secret).update(issued).digest('base64url'))
  const given = Buffer.from(nonce.slice(dot + 1))
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return false
  const age = nowMs / 1000 - parseInt(issued, 36)
  return age >= -1 && age <= ttl
}

/** The RFC 7638 thumbprint of a public JWK (its required members, in lexicographic order). */
export function jwkThumbprint(jwk: Readonly<Record<string, unknown>>): string {
  const members: Record<string, readonly string[]> = { EC: ['crv', 'kty', 'x', 'y'], OKP: ['crv', 'kty', 'x'], RSA: ['e', 'kty', 'n'] }
  const names = members[String(jwk['kty'])]
  if (names === undefined) throw invalid('has a key type that cannot be thumbprinted')
  const canonical = `{${names.map((n) => `${JSON.stringify(n)}:${JSON.stringify(String(jwk[n]))}`).join(',')}}`
  return createHash('sha256').update(canonical).digest('base64url')
}

/** `htu` as compared: scheme, host and port normalized by URL parsing, path kept, query and fragment dropped. */
function comparableUri(value: string): string | undefined {
  try {
    const url = new URL(value)
    return `${url.origin}${url.pathname}`
  } catch {
    return undefined
  }
}

/** What a proof is checked against. */
export interface ProofContext {
  readonly method: string
  readonly url: string
  readonly accessToken: string
  /** The token's `cnf.jkt`. */
  readonly jkt: string
  readonly tolerance: number
  readonly nowMs: number
  readonly maxBytes: number
}

/**
 * Checks one DPoP proof for the request and the access token it comes with.
 * @throws IdentityError `dpop_proof_invalid`, `dpop_key_mismatch`, `dpop_nonce_required`, `dpop_proof_replayed`; UnavailableError `replay_store_unavailable`
 */
export function checkDpopProof(proof: string, context: ProofContext, settings: DpopSettings): MaybePromise<void> {
  let parsed
  try {
    parsed = parseCompactToken(proof, context.maxBytes)
  } catch {
    throw invalid('is not a compact JWS')
  }
  const { header, payload } = parsed
  if (typeof header['typ'] !== 'string' || normalizeTyp(header['typ']) !== 'dpop+jwt') throw invalid('does not have typ dpop+jwt')
  const alg = header['alg']
  if (typeof alg !== 'string' || !settings.algorithms.has(alg)) throw invalid('uses an algorithm that is not allowed')
  const jwk = header['jwk']
  if (typeof jwk !== 'object' || jwk === null || Array.isArray(jwk)) throw invalid('has no public key (jwk)')
  const members = jwk as Record<string, unknown>
  if (PRIVATE_MEMBERS.some((m) => Object.hasOwn(members, m))) throw invalid('carries private key material')
  let key: KeyObject
  try {
    key = createPublicKey({ key: members as never, format: 'jwk' })
  } catch {
    throw invalid('has an unusable public key')
  }
  try {
    const checked = verifyJwsSignature(proof, key, alg, { remember: false, offload: false })
    if (checked instanceof Promise) throw new Error('unexpected asynchronous check')
  } catch {
    throw invalid('signature does not verify with its own key')
  }
  const { jti, htm, htu, iat, ath } = payload
  if (typeof jti !== 'string' || jti.length === 0 || jti.length > 256) throw invalid('has no usable jti')
  if (htm !== context.method) throw invalid('was made for another HTTP method')
  const expectedUri = comparableUri(context.url)
  if (typeof htu !== 'string' || expectedUri === undefined || comparableUri(htu) !== expectedUri) throw invalid('was made for another URI')
  if (typeof iat !== 'number' || !Number.isFinite(iat)) throw invalid('has no iat')
  const now = context.nowMs / 1000
  if (iat > now + context.tolerance || now - iat > settings.maxProofAge + context.tolerance) throw invalid('is too old or from the future')
  if (ath !== createHash('sha256').update(context.accessToken).digest('base64url')) throw invalid('is not bound (ath) to the access token')
  if (jwkThumbprint(members) !== context.jkt) throw new IdentityError('dpop_key_mismatch', 'the DPoP proof key is not the key the token is bound to')
  if (settings.nonceSecret !== undefined && !nonceValid(payload['nonce'], settings.nonceSecret, settings.nonceTtl, context.nowMs)) {
    throw new IdentityError('dpop_nonce_required', 'the DPoP proof must carry a current server nonce')
  }
  // Last: only a proof that passed everything uses up its jti.
  const replayKey = createHash('sha256').update(JSON.stringify([context.jkt, jti])).digest('base64url')
  const keepUntil = (iat + settings.maxProofAge + context.tolerance) * 1000
  const fresh = (first: boolean): void => {
    if (!first) throw new IdentityError('dpop_proof_replayed', 'this DPoP proof was already used')
  }
  const storeDown = (err: unknown): never => {
    throw new UnavailableError('replay_store_unavailable', 'the store of used DPoP proofs cannot answer', { cause: err })
  }
  let first: MaybePromise<boolean>
  try {
    first = settings.replayStore.consume(replayKey, keepUntil, context.nowMs)
  } catch (err) {
    return storeDown(err)
  }
  return first instanceof Promise ? first.then(fresh, storeDown) : fresh(first)
}
