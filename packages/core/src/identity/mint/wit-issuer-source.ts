/**
 * A {@link WitSource} backed by meshguard's WIT issuer (the Txn-Token Service's `/wit` endpoint):
 * a fresh key pair per WIT, the bootstrap attestation bound to it by a proof of possession, renewal
 * at half-life in the background, exponential backoff after failures.
 */
import { createHash, generateKeyPairSync, randomBytes, type KeyObject } from 'node:crypto'
import { SignJWT } from 'jose'
import { ConfigError, MintError } from '../../errors.js'
import { trustedFetchUrl } from '../trusted-url.js'
import { WIT_ISSUANCE_PATH, WIT_PROOF_TYP, type WitAttestationType } from './wit-issuance-wire.js'
import type { WitSource, WorkloadCredential } from './wit-source.js'

/** Options of {@link witIssuerSource}. */
export interface WitIssuerSourceOptions {
  /** The issuer URL from trusted configuration (`https:`, or `http:` on loopback only): the proof's `aud`. */
  issuerUrl: string
  /** The bootstrap attestation, read fresh for every request (e.g. the projected service-account token file). */
  attestation: () => string | Promise<string>
  /** What the attestation is. */
  attestationType: WitAttestationType
  /** The proof algorithm of the WITs: the key type generated for each. @defaultValue `'ES256'` */
  alg?: 'ES256' | 'EdDSA' | undefined
  /** Roles to ask for (a subset of what the issuer grants; anything else is refused). @defaultValue all granted */
  roles?: readonly string[] | undefined
  /** Abort reading the attestation, and one issuance request, after this long each. @defaultValue 5000 */
  timeoutMs?: number | undefined
  /** First retry delay after a failure; doubles per failure up to `maxBackoffMs`. @defaultValue 1000 */
  minBackoffMs?: number | undefined
  /** Longest retry delay. @defaultValue 60000 */
  maxBackoffMs?: number | undefined
  /** The fetch implementation. @defaultValue `globalThis.fetch` */
  fetch?: typeof fetch | undefined
  /** Milliseconds clock. @defaultValue `Date.now` */
  clock?: (() => number) | undefined
}

/** A credential with the time (epoch ms) it should be renewed. */
interface Held {
  readonly credential: WorkloadCredential
  readonly renewAt: number
}

const ATTESTATION_TYPES: ReadonlySet<string> = new Set(['kubernetes_sa_token', 'private_key_jwt', 'spiffe_jwt_svid'])

function positive(value: number | undefined, fallback: number, option: string): number {
  if (value === undefined) return fallback
  if (!Number.isFinite(value) || value <= 0) throw new ConfigError(option, 'must be a positive number of milliseconds')
  return value
}

function decodePart(part: string | undefined): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(Buffer.from(part ?? '', 'base64url').toString('utf8'))
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined
  } catch {
    return undefined
  }
}

/** Whether the WIT's `cnf.jwk` is exactly our public key with our algorithm. */
function bindsOurKey(claims: Record<string, unknown>, ours: Record<string, unknown>): boolean {
  const cnf = claims['cnf']
  const jwk = typeof cnf === 'object' && cnf !== null ? (cnf as Record<string, unknown>)['jwk'] : undefined
  if (typeof jwk !== 'object' || jwk === null) return false
  const theirs = jwk as Record<string, unknown>
  return ['kty', 'crv', 'x', 'y', 'alg'].every((member) => theirs[member] === ours[member])
}

/** One fresh key pair of the proof algorithm and its public JWK (with the REQUIRED `alg`). */
function freshKey(alg: 'ES256' | 'EdDSA'): { privateKey: KeyObject; jwk: Record<string, unknown> } {
  const { privateKey, publicKey } = alg === 'EdDSA' ? generateKeyPairSync('ed25519') : generateKeyPairSync('ec', { namedCurve: 'P-256' })
  return { privateKey, jwk: { ...(publicKey.export({ format: 'jwk' }) as Record<string, unknown>), alg } }
}

/**
 * Obtains WITs from a meshguard WIT issuer and keeps one valid. `current()` answers the held WIT
 * at once while it is unexpired (starting a background renewal once it is past half its life);
 * only without a valid WIT does it wait for the issuer, and after a failure it fails at once with
 * `MintError` (reason `wit_unavailable`) until the backoff has passed.
 *
 * @example
 * ```ts
 * const source = witIssuerSource({
 *   issuerUrl: 'https://tts.example.org',
 *   attestationType: 'kubernetes_sa_token',
 *   attestation: () => readFile('/var/run/secrets/meshguard/token', 'utf8'),
 * })
 * const { wit, privateKey, alg } = await source.current()
 * ```
 * @throws ConfigError for bad options
 */
export function witIssuerSource(options: WitIssuerSourceOptions): WitSource {
  if (typeof options !== 'object' || (options as unknown) === null) throw new ConfigError('wimse.source', 'must be an object')
  const issuer = trustedFetchUrl(options.issuerUrl, 'wimse.source.issuerUrl').href.replace(/\/$/, '')
  const endpoint = `${issuer}${WIT_ISSUANCE_PATH}`
  if (typeof options.attestation !== 'function') throw new ConfigError('wimse.source.attestation', 'must be a function returning the attestation')
  if (!ATTESTATION_TYPES.has(options.attestationType)) throw new ConfigError('wimse.source.attestationType', 'is not a known attestation type')
  const alg = options.alg ?? 'ES256'
  if (alg !== 'ES256' && (alg as string) !== 'EdDSA') throw new ConfigError('wimse.source.alg', 'must be ES256 or EdDSA')
  const roles = options.roles === undefined ? undefined : [...options.roles]
  if (roles !== undefined && roles.some((r) => typeof r !== 'string' || r === '')) throw new ConfigError('wimse.source.roles', 'must be a list of role names')
  const timeoutMs = positive(options.timeoutMs, 5000, 'wimse.source.timeoutMs')
  const minBackoffMs = positive(options.minBackoffMs, 1000, 'wimse.source.minBackoffMs')
  const maxBackoffMs = Math.max(minBackoffMs, positive(options.maxBackoffMs, 60_000, 'wimse.source.maxBackoffMs'))
  const fetchImpl = options.fetch ?? globalThis.fetch
  const clock = options.clock ?? Date.now

  let held: Held | undefined
  let inflight: Promise<WorkloadCredential> | undefined
  let failures = 0
  let retryAt = -Infinity
  let lastError: unknown
  let timer: NodeJS.Timeout | undefined
  let closed = false

  async function attest(): Promise<string> {
    let value: unknown
    let timer: NodeJS.Timeout | undefined
    // A hung attestation read (a stuck volume) must not hold renewal forever: bounded like the request.
    const deadline = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(() => reject(new Error(`no attestation after ${timeoutMs} ms`)), timeoutMs)
      timer.unref()
    })
    try {
      value = await Promise.race([options.attestation(), deadline])
    } catch (err) {
      throw new MintError('wit_attestation_unavailable', 'the bootstrap attestation could not be read', { cause: err })
    } finally {
      clearTimeout(timer)
    }
    if (typeof value !== 'string' || value.trim() === '') throw new MintError('wit_attestation_unavailable', 'the bootstrap attestation is empty')
    return value.trim()
  }

  async function obtain(): Promise<WorkloadCredential> {
    const attestation = await attest()
    const { privateKey, jwk } = freshKey(alg)
    const proof = await new SignJWT({ ath: createHash('sha256').update(attestation).digest('base64url') })
      .setProtectedHeader({ alg, typ: WIT_PROOF_TYP, jwk })
      .setAudience(issuer)
      .setIssuedAt(Math.floor(clock() / 1000))
      .setJti(randomBytes(16).toString('base64url'))
      .sign(privateKey)
    const body = JSON.stringify({ attestation_type: options.attestationType, attestation, proof, ...(roles === undefined ? {} : { roles }) })
    let status: number
    let json: unknown
    try {
      const response = await fetchImpl(endpoint, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/json' },
        body,
        redirect: 'error',
        signal: AbortSignal.timeout(timeoutMs),
      })
      status = response.status
      json = await response.json()
    } catch (err) {
      throw new MintError('wit_issuer_unavailable', 'the WIT issuer cannot be reached', { cause: err })
    }
    const answer = typeof json === 'object' && json !== null ? (json as Record<string, unknown>) : {}
    if (status !== 200) {
      // The error code is safe to surface; the description may not be.
      const code = typeof answer['error'] === 'string' && /^[a-z_]{1,64}$/.test(answer['error']) ? answer['error'] : `http_${status}`
      if (status >= 500) throw new MintError('wit_issuer_unavailable', `the WIT issuer could not answer (${code})`)
      throw new MintError('wit_issuer_refused', `the WIT issuer refused the request (${code})`)
    }
    const wit = answer['wit']
    const [headerPart, payloadPart] = typeof wit === 'string' ? wit.split('.') : []
    const header = decodePart(headerPart)
    const claims = decodePart(payloadPart)
    const sub = claims?.['sub']
    const exp = claims?.['exp']
    if (typeof wit !== 'string' || header?.['typ'] !== 'wit+jwt' || claims === undefined || typeof sub !== 'string' || typeof exp !== 'number') {
      throw new MintError('wit_response_invalid', 'the WIT issuer answered without a usable WIT')
    }
    if (!bindsOurKey(claims, jwk)) throw new MintError('wit_response_invalid', 'the issued WIT is not bound to this workload key')
    if (exp * 1000 <= clock()) throw new MintError('wit_response_invalid', 'the issued WIT has already expired')
    return Object.freeze({ wit, sub, expiresAt: exp, privateKey, alg })
  }

  function schedule(renewAt: number): void {
    if (timer !== undefined) clearTimeout(timer)
    if (closed) return
    timer = setTimeout(() => void renew().catch(() => undefined), Math.max(0, renewAt - clock()))
    timer.unref()
  }

  function renew(): Promise<WorkloadCredential> {
    if (inflight !== undefined) return inflight
    const started = clock()
    const attempt = obtain().then(
      (credential) => {
        failures = 0
        retryAt = -Infinity
        const renewAt = started + (credential.expiresAt * 1000 - started) / 2
        held = { credential, renewAt }
        schedule(renewAt)
        return credential
      },
      (err: unknown) => {
        failures++
        lastError = err
        const delay = Math.min(maxBackoffMs, minBackoffMs * 2 ** Math.min(failures - 1, 30))
        retryAt = clock() + delay
        schedule(retryAt)
        throw err
      },
    )
    inflight = attempt
    void attempt.finally(() => {
      if (inflight === attempt) inflight = undefined
    }).catch(() => undefined)
    return attempt
  }

  return {
    current() {
      const now = clock()
      const credential = held?.credential
      if (credential !== undefined && now < credential.expiresAt * 1000) {
        if (held !== undefined && now >= held.renewAt && now >= retryAt && !closed) void renew().catch(() => undefined)
        return credential
      }
      held = undefined
      if (inflight !== undefined) return inflight
      if (closed) return Promise.reject(new MintError('wit_unavailable', 'the WIT source is closed'))
      if (now < retryAt) {
        return Promise.reject(new MintError('wit_unavailable', 'no valid WIT is held and the issuer failed recently', { cause: lastError }))
      }
      return renew()
    },
    close() {
      closed = true
      if (timer !== undefined) clearTimeout(timer)
      timer = undefined
    },
  }
}
