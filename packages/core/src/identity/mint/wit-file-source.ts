/**
 * A WIMSE credential in two files a sidecar rotates: the WIT and its private key. Re-read when either
 * file changes (checked in the background at most once a second, so a request holding a valid
 * credential never waits on the disk) and when the held WIT expires; a half-written pair (a key that
 * is not the WIT's `cnf.jwk`) is ignored until it settles. An expired WIT is never served.
 */
import { createPrivateKey, createPublicKey, type JsonWebKey, type KeyObject } from 'node:crypto'
import { readFileSync, statSync } from 'node:fs'
import { readFile, stat } from 'node:fs/promises'
import { ConfigError, MintError } from '../../errors.js'
import { checkCredential, MAX_WIT_BYTES, type WitSource, type WorkloadCredential } from './wit-source.js'
import { unverifiedPayload } from './token-payload.js'

/** Options of {@link witFileSource}. */
export interface WitFileSourceOptions {
  /** A file holding one WIT (compact JWS). */
  witFile: string
  /** A file holding its private key: PEM (PKCS#8) or a private JWK. */
  keyFile: string
  /** Milliseconds clock. @defaultValue `Date.now` */
  clock?: (() => number) | undefined
}

interface Loaded {
  readonly credential: WorkloadCredential
  readonly stamp: string
}

function readKey(text: string): KeyObject {
  const trimmed = text.trim()
  if (trimmed.startsWith('{')) return createPrivateKey({ key: JSON.parse(trimmed) as JsonWebKey, format: 'jwk' })
  return createPrivateKey(trimmed)
}

/** Whether the private key is the one `cnf.jwk` publishes (same public members). */
function keyMatchesCnf(privateKey: KeyObject, cnf: unknown): boolean {
  const jwk = (cnf as { jwk?: Record<string, unknown> } | undefined)?.jwk
  if (typeof jwk !== 'object' || (jwk as unknown) === null) return false
  const ours = createPublicKey(privateKey).export({ format: 'jwk' }) as Record<string, unknown>
  return ['kty', 'crv', 'x', 'y', 'n', 'e'].every((name) => ours[name] === jwk[name])
}

/** The credential in the two files' texts. */
function parse(witText: string, keyText: string, stamp: string): Loaded {
  const wit = witText.trim()
  const payload = unverifiedPayload(wit, MAX_WIT_BYTES)
  if (payload === undefined) throw new Error('the WIT file does not hold a compact JWS')
  const privateKey = readKey(keyText)
  if (!keyMatchesCnf(privateKey, payload['cnf'])) throw new Error('the key file is not the WIT\'s "cnf.jwk" key')
  const cnf = payload['cnf'] as { jwk: { alg?: unknown } }
  const credential = checkCredential({ wit, sub: payload['sub'] as string, expiresAt: payload['exp'] as number, privateKey, alg: cnf.jwk.alg as string })
  return { credential: Object.freeze(credential), stamp }
}

async function stampNow(options: WitFileSourceOptions): Promise<string> {
  const [wit, key] = await Promise.all([stat(options.witFile), stat(options.keyFile)])
  return `${wit.mtimeMs}:${key.mtimeMs}`
}

/**
 * Reads the credential from files. The first read happens now and fails fast.
 *
 * @throws ConfigError when the files cannot be read or do not fit together at start-up
 */
export function witFileSource(options: WitFileSourceOptions): WitSource {
  if (typeof options !== 'object' || (options as unknown) === null) throw new ConfigError('identity.source', 'must be { witFile, keyFile }')
  if (typeof options.witFile !== 'string' || options.witFile === '') throw new ConfigError('identity.source.witFile', 'is required')
  if (typeof options.keyFile !== 'string' || options.keyFile === '') throw new ConfigError('identity.source.keyFile', 'is required')
  const clock = options.clock ?? Date.now
  let held: Loaded
  try {
    // Start-up reads synchronously and fails fast; later reads never run on the request path.
    const stamp = `${statSync(options.witFile).mtimeMs}:${statSync(options.keyFile).mtimeMs}`
    held = parse(readFileSync(options.witFile, 'utf8'), readFileSync(options.keyFile, 'utf8'), stamp)
  } catch (err) {
    throw new ConfigError('identity.source', err instanceof Error ? err.message : 'unreadable credential files', { cause: err })
  }
  let checkedAt = clock()
  let lastError: unknown
  let refreshing: Promise<void> | undefined

  /** Re-reads the files when either changed; a failed or half-rotated read keeps the held credential. */
  function refresh(): Promise<void> {
    refreshing ??= (async () => {
      try {
        const stamp = await stampNow(options)
        if (stamp === held.stamp) return
        const [witText, keyText] = await Promise.all([readFile(options.witFile, 'utf8'), readFile(options.keyFile, 'utf8')])
        held = parse(witText, keyText, stamp)
        lastError = undefined
      } catch (err) {
        lastError = err
      }
    })().finally(() => {
      refreshing = undefined
    })
    return refreshing
  }

  const isValid = (now: number): boolean => held.credential.expiresAt * 1000 > now
  const expired = (): MintError => new MintError('wit_expired', 'the WIT file holds only an expired WIT', { cause: lastError })

  return {
    current() {
      const now = clock()
      if (now - checkedAt >= 1000) {
        checkedAt = now
        void refresh()
      }
      if (isValid(now)) return held.credential
      // Expired: only now does a request wait, for a re-read.
      return refresh().then(() => {
        if (!isValid(clock())) throw expired()
        return held.credential
      })
    },
  }
}
