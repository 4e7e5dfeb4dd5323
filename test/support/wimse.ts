/**
 * WIMSE fixtures: a stand-in WIT issuer key per trust domain (tests only; the real issuer lives in
 * the token service), the receiver trust for it, workload credentials (WIT + private key) and raw
 * WPTs signed with node:crypto, valid or deliberately broken. Nothing touches the network.
 */
import { generateKeyPairSync, randomBytes, type KeyObject } from 'node:crypto'
import { sha256Base64url } from '../../packages/core/src/identity/digest.js'
import type { WorkloadIssuerTrust } from '../../packages/core/src/identity/trust/types.js'
import type { WorkloadCredential } from '../../packages/core/src/identity/mint/wit-source.js'
import { WIT_ATTRIBUTES_CLAIM } from '../../packages/core/src/identity/wimse-wire.js'
import { generateFixtureKey, sign, TRUST_DOMAIN, type FixtureKey, type SigningAlg } from './identity.js'

/** A workload's identifier in a trust domain. */
export function workloadId(name: string, trustDomain = TRUST_DOMAIN): string {
  return `spiffe://${trustDomain}/ns/default/sa/${name}`
}

/** What one WIT says beyond its defaults. */
export interface WitSpec {
  /** Trust domain of `sub`. @defaultValue the fixture's */
  trustDomain?: string
  /** Seconds from now to `exp` (negative: already expired). @defaultValue 3600 */
  lifetime?: number
  /** The proof key's algorithm. @defaultValue ES256 */
  proofAlg?: SigningAlg
  /** Roles and attributes under `https://meshguard.dev/wit`. */
  asserted?: { roles?: string[]; attr?: Record<string, unknown> }
  /** Claims merged last (`undefined` removes one). */
  claims?: Record<string, unknown>
  /** Header members merged last. */
  header?: Record<string, unknown>
  /** Sign with this key instead of the domain's issuer key. */
  signWith?: FixtureKey
}

/** One trust domain's stand-in WIT issuer. */
export interface WimseFixture {
  readonly trustDomain: string
  readonly issuer: FixtureKey
  trust(overrides?: Partial<WorkloadIssuerTrust>): WorkloadIssuerTrust
  /** A WIT for `name` with a fresh proof key. */
  credential(name: string, spec?: WitSpec): Promise<WorkloadCredential & { publicKey: KeyObject }>
}

/** Creates the issuer key of a trust domain. */
export function createWimseFixture(options: { trustDomain?: string; alg?: SigningAlg } = {}): WimseFixture {
  const trustDomain = options.trustDomain ?? TRUST_DOMAIN
  const issuer = generateFixtureKey(options.alg ?? 'ES256', `wit-issuer-${trustDomain}-1`)
  return {
    trustDomain,
    issuer,
    trust: (overrides = {}) => ({ trustDomain, keys: { jwks: { keys: [issuer.publicJwk] } }, ...overrides }),
    async credential(name, spec = {}) {
      const proofAlg = spec.proofAlg ?? 'ES256'
      const { privateKey, publicKey } = proofAlg === 'EdDSA' ? generateKeyPairSync('ed25519') : generateKeyPairSync('ec', { namedCurve: 'P-256' })
      const jwk = { ...(publicKey.export({ format: 'jwk' }) as Record<string, unknown>), alg: proofAlg }
      const now = Math.floor(Date.now() / 1000)
      const sub = workloadId(name, spec.trustDomain ?? trustDomain)
      const claims: Record<string, unknown> = {
        iss: `https://issuer.${trustDomain}`,
        sub,
        iat: now,
        exp: now + (spec.lifetime ?? 3600),
        jti: randomBytes(8).toString('hex'),
        cnf: { jwk },
        ...(spec.asserted === undefined ? {} : { [WIT_ATTRIBUTES_CLAIM]: spec.asserted }),
        ...spec.claims,
      }
      const signer = spec.signWith ?? issuer
      const wit = await sign(signer, { alg: signer.alg, typ: 'wit+jwt', kid: signer.kid, ...spec.header }, claims)
      return { wit, sub: claims['sub'] as string, expiresAt: claims['exp'] as number, privateKey, publicKey, alg: proofAlg }
    },
  }
}

/** What one raw WPT says; defaults make a valid proof for `aud`. */
export interface WptSpec {
  aud: string
  /** Seconds from now to `exp`. @defaultValue 60 */
  lifetime?: number
  jti?: string
  /** The Txn-Token to bind (`tth`). */
  txnToken?: string
  /** Claims merged last (`undefined` removes one). */
  claims?: Record<string, unknown>
  /** Header members merged last. */
  header?: Record<string, unknown>
  /** Sign with another key (with its algorithm). */
  signWith?: FixtureKey
}

/** A WPT for a credential, signed with node:crypto independently of the code under test. */
export async function rawWpt(credential: WorkloadCredential, spec: WptSpec): Promise<string> {
  const now = Math.floor(Date.now() / 1000)
  const key: FixtureKey = spec.signWith ?? {
    kid: 'proof',
    alg: credential.alg as SigningAlg,
    privateKey: credential.privateKey,
    publicKey: credential.privateKey,
    publicJwk: { kty: 'none' },
  }
  const claims = {
    aud: spec.aud,
    exp: now + (spec.lifetime ?? 60),
    jti: spec.jti ?? randomBytes(16).toString('base64url'),
    wth: sha256Base64url(credential.wit),
    tth: spec.txnToken === undefined ? undefined : sha256Base64url(spec.txnToken),
    ...spec.claims,
  }
  return sign(key, { alg: credential.alg, typ: 'wpt+jwt', ...spec.header }, claims)
}

/** The two WIMSE headers of a request. */
export function wimseHeaders(credential: WorkloadCredential, wpt: string): Record<string, string> {
  return { 'workload-identity-token': credential.wit, authorization: `WPT ${wpt}` }
}
