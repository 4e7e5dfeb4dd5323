/**
 * Identity fixtures for tests of every stream: keys for services and a user issuer, a trust bundle,
 * and valid or deliberately broken workload/actor tokens. Everything is generated in memory per
 * fixture; nothing touches the network.
 *
 * @example
 * ```ts
 * const ids = await createIdentityFixture()
 * const verifier = createIdentityVerifier(ids.verifierOptions('review-service'))
 * const headers = await ids.headers({ from: 'employee-service', to: 'review-service', actor: 'alice' })
 * ```
 */
import { generateKeyPairSync, randomUUID, sign as cryptoSign, type KeyObject } from 'node:crypto'
import {
  ACCESS_TOKEN_TYP,
  createWorkloadIdentity,
  selfSignedTokenSource,
  sha256Base64url,
  WORKLOAD_TOKEN_TYP,
  DEFAULT_ACTOR_HEADER,
  DEFAULT_TRANSACTION_HEADER,
  type IdentityVerifierOptions,
  type PublicJwk,
  type TrustBundleOptions,
  type WorkloadIdentity,
  type WorkloadIdentityOptions,
} from '../../packages/core/src/identity/index.js'

/** The fixtures' trust domain. */
export const TRUST_DOMAIN = 'example.org'
/** The fixtures' user/agent token issuer. */
export const USER_ISSUER = 'https://idp.example.org'
/** The audience user tokens are issued for. */
export const ACTOR_AUDIENCE = 'meshguard'

/** The SPIFFE ID of a fixture service, e.g. `spiffe://example.org/ns/default/sa/review-service`. */
export function serviceId(name: string, namespace = 'default'): string {
  return `spiffe://${TRUST_DOMAIN}/ns/${namespace}/sa/${name}`
}

/** The people and agent of the sample system, as the example policies' test data has them. */
export const USERS = {
  alice: { sub: 'alice', roles: ['employee', 'manager'], department: 'engineering' },
  hana: { sub: 'hana', roles: ['employee', 'hr'], department: 'people' },
  ed: { sub: 'ed', roles: ['employee'], department: 'engineering' },
} as const

/** The AI agent of the sample system. */
export const AGENT = { sub: 'hr-reporting-agent', roles: ['ai_agent'] } as const

export type SigningAlg = 'EdDSA' | 'ES256'

/** A key pair with its public JWK. */
export interface FixtureKey {
  kid: string
  alg: SigningAlg
  privateKey: KeyObject
  publicKey: KeyObject
  publicJwk: PublicJwk
}

/** Generates a signing key pair (Ed25519 for EdDSA, P-256 for ES256). */
export function generateFixtureKey(alg: SigningAlg = 'EdDSA', kid: string = `k-${randomUUID().slice(0, 8)}`): FixtureKey {
  const { privateKey, publicKey } =
    alg === 'EdDSA' ? generateKeyPairSync('ed25519') : generateKeyPairSync('ec', { namedCurve: 'P-256' })
  const publicJwk = { ...(publicKey.export({ format: 'jwk' }) as PublicJwk), kid, alg, use: 'sig' }
  return { kid, alg, privateKey, publicKey, publicJwk }
}

/** A fixture service: its identity and key. */
export interface FixtureService extends FixtureKey {
  name: string
  id: string
}

/** Claims and header overrides: a value of `undefined` deletes that member. */
export interface TokenOverrides {
  claims?: Record<string, unknown>
  header?: Record<string, unknown>
  /** Sign with another key (e.g. another service's) instead of the rightful one; `alg` follows this key unless `header.alg` is set. */
  signWith?: FixtureKey
  /** Seconds clock for iat/exp. @defaultValue now */
  now?: number
  /** Lifetime in seconds. @defaultValue 300 (workload) / 900 (actor) */
  lifetime?: number
}

/** An actor for {@link IdentityFixture.mintActorToken}: a known user name, `'agent'`, or explicit claims. */
export type ActorSpec = keyof typeof USERS | 'agent' | { sub: string; roles?: string[]; [claim: string]: unknown }

/** Options of {@link IdentityFixture.mintWorkloadToken}. */
export interface WorkloadTokenSpec extends TokenOverrides {
  /** The callee: a fixture service name or any audience string. */
  audience: string
  /** Bind to this actor token (sets `ath`). */
  actorToken?: string
  /** Workloads earlier in the chain, nearest first (sets `act`). */
  chain?: string[]
  /** Sets `txn`. */
  transactionId?: string
}

/** Names of the broken workload-token variants and the reason code each must produce. */
export const BROKEN_WORKLOAD_TOKENS = {
  expired: 'token_expired',
  wrongAudience: 'aud_mismatch',
  unknownIssuer: 'unknown_issuer',
  algNone: 'alg_not_allowed',
  wrongTyp: 'typ_mismatch',
  badSignature: 'signature_invalid',
  otherServicesKey: 'key_not_bound',
  lifetimeTooLong: 'lifetime_too_long',
  tooLarge: 'token_too_large',
  malformed: 'token_malformed',
} as const

export type BrokenWorkloadToken = keyof typeof BROKEN_WORKLOAD_TOKENS

/** The fixture. */
export interface IdentityFixture {
  services: Record<string, FixtureService>
  /** The user/agent issuer key. */
  userIssuer: FixtureKey & { issuer: string }
  /** Trust options with every fixture service (inline JWKS, each key bound to its own service) and the user issuer. */
  trust(): TrustBundleOptions
  /** Verifier options for service `name` (audience = its SPIFFE ID). */
  verifierOptions(name: string, overrides?: Partial<IdentityVerifierOptions>): IdentityVerifierOptions
  /** The minting side of service `name` (self-signed with its fixture key). */
  workloadIdentity(name: string, overrides?: Partial<WorkloadIdentityOptions>): WorkloadIdentity
  /** A workload token from service `from`. */
  mintWorkloadToken(from: string, spec: WorkloadTokenSpec): Promise<string>
  /** A user or agent access token from the user issuer (`typ: at+jwt`, `aud: meshguard`). */
  mintActorToken(actor: ActorSpec, overrides?: TokenOverrides): Promise<string>
  /** Valid request headers for a hop from `from` to `to`, optionally on behalf of an actor. */
  headers(hop: { from: string; to: string; actor?: ActorSpec; transactionId?: string }): Promise<Record<string, string>>
  /** A workload token from `from` to `to` broken in the named way (see {@link BROKEN_WORKLOAD_TOKENS}). */
  brokenWorkloadToken(kind: BrokenWorkloadToken, from: string, to: string): Promise<string>
}

const encode = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url')

/**
 * Signs a compact JWS with node:crypto directly (independent of the jose code under test), so
 * headers and claims can be anything a test needs, including invalid ones. Members set to
 * `undefined` are left out.
 */
export async function sign(key: FixtureKey, header: Record<string, unknown>, claims: Record<string, unknown>): Promise<string> {
  const cleanHeader = Object.fromEntries(Object.entries(header).filter(([, v]) => v !== undefined))
  const cleanClaims = Object.fromEntries(Object.entries(claims).filter(([, v]) => v !== undefined))
  const input = `${encode(cleanHeader)}.${encode(cleanClaims)}`
  const signature =
    key.alg === 'EdDSA'
      ? cryptoSign(null, Buffer.from(input), key.privateKey)
      : cryptoSign('sha256', Buffer.from(input), { key: key.privateKey, dsaEncoding: 'ieee-p1363' })
  return `${input}.${signature.toString('base64url')}`
}

function actorClaims(actor: ActorSpec): Record<string, unknown> {
  if (actor === 'agent') return { sub: AGENT.sub, client_id: AGENT.sub, roles: [...AGENT.roles] }
  if (typeof actor === 'string') {
    const user = USERS[actor]
    return { sub: user.sub, roles: [...user.roles], department: user.department }
  }
  return { ...actor }
}

/** Replaces the signature with a valid-looking but wrong one. */
function corruptSignature(token: string): string {
  const [h, p, s] = token.split('.') as [string, string, string]
  const bytes = Buffer.from(s, 'base64url')
  bytes[0] = (bytes[0] ?? 0) ^ 0xff
  return `${h}.${p}.${bytes.toString('base64url')}`
}

/**
 * Creates keys for the named services and a user issuer.
 *
 * @param options.services - service names @defaultValue gateway, employee-service, review-service, ai-reporting-agent, orders, payments
 * @param options.alg - service key algorithm @defaultValue EdDSA
 */
export async function createIdentityFixture(
  options: { services?: string[]; alg?: SigningAlg; userIssuerAlg?: SigningAlg } = {},
): Promise<IdentityFixture> {
  const names = options.services ?? ['gateway', 'employee-service', 'review-service', 'ai-reporting-agent', 'orders', 'payments']
  const services: Record<string, FixtureService> = {}
  for (const name of names) services[name] = { name, id: serviceId(name), ...generateFixtureKey(options.alg ?? 'EdDSA', `${name}-1`) }
  const userIssuer = { issuer: USER_ISSUER, ...generateFixtureKey(options.userIssuerAlg ?? 'ES256', 'idp-1') }

  const service = (name: string): FixtureService => {
    const found = services[name]
    if (found === undefined) throw new Error(`no fixture service "${name}"`)
    return found
  }
  const audienceOf = (nameOrAudience: string): string => services[nameOrAudience]?.id ?? nameOrAudience

  const trust = (): TrustBundleOptions => ({
    workloads: Object.values(services).map((s) => ({ issuer: s.id, keys: { jwks: { keys: [s.publicJwk] } } })),
    actors: [{ issuer: USER_ISSUER, keys: { jwks: { keys: [userIssuer.publicJwk] } }, audiences: [ACTOR_AUDIENCE] }],
  })

  async function mintWorkloadToken(from: string, spec: WorkloadTokenSpec): Promise<string> {
    const s = service(from)
    const now = spec.now ?? Math.floor(Date.now() / 1000)
    let act: Record<string, unknown> | undefined
    for (const sub of [...(spec.chain ?? [])].reverse()) act = act === undefined ? { sub } : { sub, act }
    const claims: Record<string, unknown> = {
      iss: s.id,
      sub: s.id,
      aud: audienceOf(spec.audience),
      iat: now,
      exp: now + (spec.lifetime ?? 300),
      jti: randomUUID(),
      ath: spec.actorToken === undefined ? undefined : sha256Base64url(spec.actorToken),
      act,
      txn: spec.transactionId,
      ...spec.claims,
    }
    const header = { alg: (spec.signWith ?? s).alg, kid: s.kid, typ: WORKLOAD_TOKEN_TYP, ...spec.header }
    return sign(spec.signWith ?? s, header, claims)
  }

  async function mintActorToken(actor: ActorSpec, overrides: TokenOverrides = {}): Promise<string> {
    const now = overrides.now ?? Math.floor(Date.now() / 1000)
    const claims: Record<string, unknown> = {
      iss: USER_ISSUER,
      aud: ACTOR_AUDIENCE,
      iat: now,
      exp: now + (overrides.lifetime ?? 900),
      jti: randomUUID(),
      ...actorClaims(actor),
      ...overrides.claims,
    }
    const header = { alg: (overrides.signWith ?? userIssuer).alg, kid: userIssuer.kid, typ: ACCESS_TOKEN_TYP, ...overrides.header }
    return sign(overrides.signWith ?? userIssuer, header, claims)
  }

  async function brokenWorkloadToken(kind: BrokenWorkloadToken, from: string, to: string): Promise<string> {
    const now = Math.floor(Date.now() / 1000)
    const others = Object.values(services).filter((s) => s.name !== from)
    switch (kind) {
      case 'expired':
        return mintWorkloadToken(from, { audience: to, now: now - 3600 })
      case 'wrongAudience':
        return mintWorkloadToken(from, { audience: serviceId('somebody-else') })
      case 'unknownIssuer':
        return mintWorkloadToken(from, { audience: to, claims: { iss: serviceId('stranger'), sub: serviceId('stranger') } })
      case 'algNone': {
        const valid = await mintWorkloadToken(from, { audience: to })
        const [, payload] = valid.split('.') as [string, string]
        const header = Buffer.from(JSON.stringify({ alg: 'none', typ: WORKLOAD_TOKEN_TYP, kid: service(from).kid })).toString('base64url')
        return `${header}.${payload}.`
      }
      case 'wrongTyp':
        return mintWorkloadToken(from, { audience: to, header: { typ: 'JWT' } })
      case 'badSignature':
        return corruptSignature(await mintWorkloadToken(from, { audience: to }))
      case 'otherServicesKey': {
        // Service `from`'s own key, but the token claims to be another service (kid of `from` under the other's issuer).
        const other = others[0]
        if (other === undefined) throw new Error('needs two services')
        return mintWorkloadToken(from, { audience: to, claims: { sub: other.id }, header: { kid: service(from).kid } })
      }
      case 'lifetimeTooLong':
        return mintWorkloadToken(from, { audience: to, lifetime: 86_400 })
      case 'tooLarge':
        return mintWorkloadToken(from, { audience: to, claims: { padding: 'x'.repeat(10_000) } })
      case 'malformed':
        return 'not-a.jwt'
    }
  }

  return {
    services,
    userIssuer,
    trust,
    verifierOptions: (name, overrides = {}) => ({ audience: service(name).id, trust: trust(), ...overrides }),
    workloadIdentity: (name, overrides = {}) => {
      const s = service(name)
      return createWorkloadIdentity({ id: s.id, source: selfSignedTokenSource({ key: s.privateKey, kid: s.kid }), ...overrides })
    },
    mintWorkloadToken,
    mintActorToken,
    async headers(hop) {
      const actorToken = hop.actor === undefined ? undefined : await mintActorToken(hop.actor)
      const workload = await mintWorkloadToken(hop.from, { audience: hop.to, actorToken, transactionId: hop.transactionId })
      const headers: Record<string, string> = { authorization: `Bearer ${workload}` }
      if (actorToken !== undefined) headers[DEFAULT_ACTOR_HEADER] = actorToken
      if (hop.transactionId !== undefined) headers[DEFAULT_TRANSACTION_HEADER] = hop.transactionId
      return headers
    },
    brokenWorkloadToken,
  }
}
