/**
 * The local development issuer of actor (user and agent) tokens: an Ed25519 key pair kept in a
 * directory of the developer's project, so `meshguard user-token` can mint a token with any `sub`,
 * roles and attributes. Its `iss` says what it is, and services trust it only through their
 * development trust configuration (the `init` scaffold loads that one only when
 * MESHGUARD_ENV=development): a token from here is worth nothing anywhere that did not opt in.
 */
import { createHash, createPrivateKey, generateKeyPairSync, randomUUID, sign, type KeyObject } from 'node:crypto'
import { readFile, mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { ACCESS_TOKEN_TYP, ConfigError, DEVELOPMENT_ACTOR_AUDIENCE, DEVELOPMENT_ACTOR_ISSUER } from '@meshguard/core'

/** The `iss` of every development actor token (core refuses to trust it under NODE_ENV=production). */
export const DEV_ISSUER = DEVELOPMENT_ACTOR_ISSUER
/** The audience of development actor tokens (what a service's development trust accepts). */
export const DEV_ACTOR_AUDIENCE = DEVELOPMENT_ACTOR_AUDIENCE

const KEY_FILE = 'dev-issuer.key.pem'
const JWKS_FILE = 'jwks.json'

/** A loaded development issuer. */
export interface DevIssuer {
  dir: string
  kid: string
  privateKey: KeyObject
  /** The public keys, as services' trust configuration reads them (`keys: { jwksFile }`). */
  jwksFile: string
}

const kidOf = (jwk: object): string => `dev-${createHash('sha256').update(JSON.stringify(jwk)).digest('base64url').slice(0, 12)}`

/** Loads the development issuer in `dir`, creating its key pair on first use. */
export async function openDevIssuer(dir: string): Promise<DevIssuer> {
  const keyFile = join(dir, KEY_FILE)
  const jwksFile = join(dir, JWKS_FILE)
  let pem: string | undefined
  try {
    pem = await readFile(keyFile, 'utf8')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err
  }
  if (pem === undefined) {
    const { privateKey, publicKey } = generateKeyPairSync('ed25519')
    const jwk = publicKey.export({ format: 'jwk' })
    const kid = kidOf(jwk)
    await mkdir(dir, { recursive: true })
    await writeFile(keyFile, privateKey.export({ format: 'pem', type: 'pkcs8' }), { mode: 0o600 })
    await writeFile(jwksFile, `${JSON.stringify({ keys: [{ ...jwk, kid, alg: 'EdDSA', use: 'sig' }] }, null, 2)}\n`)
    return { dir, kid, privateKey, jwksFile }
  }
  // The kid is the one published in jwks.json, so tokens and the JWKS always agree.
  const jwks = JSON.parse(await readFile(jwksFile, 'utf8')) as { keys?: Array<{ kid?: unknown }> }
  const kid = jwks.keys?.[0]?.kid
  if (typeof kid !== 'string') throw new ConfigError('issuer-dir', `${jwksFile} has no key id; delete ${dir} to make a new development issuer`)
  return { dir, kid, privateKey: createPrivateKey(pem), jwksFile }
}

/** What a development actor token says about its actor. */
export interface DevActor {
  sub: string
  roles: string[]
  /** Extra claims; services map them to `act.user.attr`. */
  attr: Record<string, unknown>
  /** An AI agent (`actor_type: agent`) rather than a user. */
  agent: boolean
}

const encode = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url')

/** Mints a development actor token (`typ: at+jwt`, `iss` = {@link DEV_ISSUER}). */
export function mintDevActorToken(issuer: DevIssuer, actor: DevActor, options: { audience?: string; lifetime: number; now?: number }): string {
  const iat = Math.floor((options.now ?? Date.now()) / 1000)
  // Attributes first: the registered claims below always win over an attribute of the same name.
  const claims = {
    ...actor.attr,
    ...(actor.agent ? { actor_type: 'agent' } : {}),
    roles: actor.roles,
    iss: DEV_ISSUER,
    sub: actor.sub,
    aud: options.audience ?? DEV_ACTOR_AUDIENCE,
    iat,
    exp: iat + options.lifetime,
    jti: randomUUID(),
  }
  const input = `${encode({ alg: 'EdDSA', kid: issuer.kid, typ: ACCESS_TOKEN_TYP })}.${encode(claims)}`
  return `${input}.${sign(null, Buffer.from(input), issuer.privateKey).toString('base64url')}`
}
