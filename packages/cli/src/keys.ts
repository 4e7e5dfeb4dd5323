/**
 * Development helpers around workload identity: `meshguard keys` makes a signing key pair and its
 * JWKS, `meshguard token` mints a workload token with it (the same minting code services use).
 * For local development and tests only; production keys come from your secret store.
 */
import { createHash, generateKeyPairSync, type KeyObject } from 'node:crypto'
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { selfSignedTokenSource, type SigningAlgorithm } from '@meshguard/core'
import { sha256Base64url } from '@meshguard/core/adapter'
import { write, UsageError, type CliIo } from './io.js'

function generate(alg: SigningAlgorithm): { privateKey: KeyObject; publicKey: KeyObject } {
  return alg === 'EdDSA' ? generateKeyPairSync('ed25519') : generateKeyPairSync('ec', { namedCurve: 'prime256v1' })
}

/** Writes a new key pair to `out`: `<kid>.key.pem` (0600) and `jwks.json`. */
export async function writeKeyPair(out: string, alg: SigningAlgorithm, kidOption?: string): Promise<{ kid: string; keyFile: string; jwksFile: string }> {
  const { privateKey, publicKey } = generate(alg)
  const jwk = publicKey.export({ format: 'jwk' })
  // Default kid: a short digest of the public key, stable for the key.
  const kid = kidOption ?? createHash('sha256').update(JSON.stringify(jwk)).digest('base64url').slice(0, 16)
  await mkdir(out, { recursive: true })
  const keyFile = join(out, `${kid}.key.pem`)
  await writeFile(keyFile, privateKey.export({ format: 'pem', type: 'pkcs8' }), { mode: 0o600 })
  const jwksFile = join(out, 'jwks.json')
  await writeFile(jwksFile, `${JSON.stringify({ keys: [{ ...jwk, kid, alg, use: 'sig' }] }, null, 2)}\n`)
  return { kid, keyFile, jwksFile }
}

/** Runs `meshguard keys --out DIR [--alg EdDSA|ES256] [--kid KID]`: writes `<kid>.key.pem` (0600) and `jwks.json`. */
export async function runKeys(args: readonly string[], io: CliIo): Promise<number> {
  const { values } = parseArgs({
    args: [...args],
    options: { out: { type: 'string' }, alg: { type: 'string', default: 'EdDSA' }, kid: { type: 'string' } },
    strict: true,
  })
  if (values.out === undefined) throw new UsageError('keys: --out DIR is required (the private key is written there, never printed)')
  if (values.alg !== 'EdDSA' && values.alg !== 'ES256') throw new UsageError('keys: --alg must be EdDSA or ES256')
  const { kid, keyFile, jwksFile } = await writeKeyPair(values.out, values.alg, values.kid)
  await write(io.stdout, `kid: ${kid}\nalg: ${values.alg}\nprivate key: ${keyFile}\nJWKS: ${jwksFile}\n`)
  return 0
}

const COMPACT_JWS = /^[\w-]+\.[\w-]+\.[\w-]+$/

/** `--actor`: a token itself, or a file holding one (a path is never mistaken for a token: it has a `/` or no two dots). */
async function readActorToken(value: string): Promise<string> {
  if (COMPACT_JWS.test(value)) return value
  let text: string
  try {
    text = await readFile(value, 'utf8')
  } catch {
    throw new UsageError(`token: --actor ${JSON.stringify(value)} is neither a token nor a readable file`)
  }
  const token = text.trim()
  if (!COMPACT_JWS.test(token)) throw new UsageError(`token: ${value} does not hold a compact JWT`)
  return token
}

/**
 * Runs `meshguard token --key FILE --kid KID --id SPIFFE_ID --aud AUDIENCE [--actor TOKEN|FILE]
 * [--claims JSON] [--lifetime SECONDS]`. With `--actor` the token carries the binding to that actor
 * token (`ath` = base64url(sha256(actor token))), as a service's client mints it, so it is accepted
 * together with that actor token and no other.
 */
export async function runToken(args: readonly string[], io: CliIo): Promise<number> {
  const { values } = parseArgs({
    args: [...args],
    options: {
      key: { type: 'string' },
      kid: { type: 'string' },
      id: { type: 'string' },
      aud: { type: 'string' },
      actor: { type: 'string' },
      claims: { type: 'string' },
      lifetime: { type: 'string', default: '300' },
    },
    strict: true,
  })
  for (const name of ['key', 'kid', 'id', 'aud'] as const) {
    if (values[name] === undefined) throw new UsageError(`token: --${name} is required`)
  }
  let claims: unknown = {}
  if (values.claims !== undefined) {
    try {
      claims = JSON.parse(values.claims)
    } catch {
      throw new UsageError('token: --claims must be a JSON object')
    }
    if (typeof claims !== 'object' || claims === null || Array.isArray(claims)) throw new UsageError('token: --claims must be a JSON object')
  }
  const lifetime = Number(values.lifetime)
  const source = selfSignedTokenSource({
    key: { file: values.key ?? '' },
    kid: values.kid ?? '',
    lifetime,
    claims: claims as Record<string, unknown>,
  })
  const actorDigest = values.actor === undefined ? undefined : sha256Base64url(await readActorToken(values.actor))
  const { token } = await source.token({ id: values.id ?? '', audience: values.aud ?? '', actorDigest, now: Date.now() })
  await write(io.stdout, `${token}\n`)
  return 0
}
