/**
 * Txn-Token fixtures: a Txn-Token Service key, the trust a receiver needs for it, Txn-Tokens shaped
 * like draft-ietf-oauth-transaction-tokens-10 §9 (valid or deliberately broken), and request headers
 * with a workload token bound to one (`txn`, `tth`). Signed in memory; nothing touches the network.
 */
import { randomUUID } from 'node:crypto'
import {
  DEFAULT_TRANSACTION_HEADER,
  sha256Base64url,
  TXN_TOKEN_HEADER,
  TXN_TOKEN_TYP,
  type TxnTokenServiceTrust,
} from '../../packages/core/src/identity/index.js'
import { generateFixtureKey, sign, TRUST_DOMAIN, USERS, type FixtureKey, type IdentityFixture, type SigningAlg, type TokenOverrides } from './identity.js'

/** What one Txn-Token says; every field has a sample default. */
export interface TxnTokenSpec extends TokenOverrides {
  /** `sub`. @defaultValue `'alice'` */
  sub?: string
  /** `scope`. @defaultValue `'review.read'` */
  scope?: string
  /** `txn`. @defaultValue a fresh UUID */
  txn?: string
  /** `req_wl`. @defaultValue the gateway's SPIFFE ID */
  reqWl?: string
  /** `tctx`. @defaultValue alice's roles and department under `user` */
  tctx?: Record<string, unknown>
  /** `rctx`. @defaultValue `{ req_ip: '127.0.0.1' }` */
  rctx?: Record<string, unknown>
  /** `aud`. @defaultValue the fixture trust domain */
  aud?: unknown
}

/** The fixture. */
export interface TxnTokenFixture {
  /** The Txn-Token Service signing key. */
  key: FixtureKey
  /** Receiver trust for this TTS (inline JWKS). */
  trust(overrides?: Partial<TxnTokenServiceTrust>): TxnTokenServiceTrust
  /** A Txn-Token (`typ: txntoken+jwt`), lifetime 300 s unless `lifetime` says otherwise. */
  mint(spec?: TxnTokenSpec): Promise<string>
  /**
   * Request headers for a hop `from` → `to` carrying `txnToken`, with a workload token bound to it
   * (`txn` and `tth`), unless `workload` overrides claims.
   */
  headers(hop: { from: string; to: string; txnToken: string; workload?: TokenOverrides; transactionHeader?: boolean }): Promise<Record<string, string>>
}

/** The `tctx.user` of a fixture user: the TTS's statement of roles and attributes. */
export function userContext(name: keyof typeof USERS): Record<string, unknown> {
  const user = USERS[name]
  return { user: { roles: [...user.roles], attr: { department: user.department } } }
}

/** The payload part of a compact JWS, decoded (no verification). */
export function payloadOf(token: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(token.split('.')[1] as string, 'base64url').toString('utf8')) as Record<string, unknown>
}

/** Creates a TTS key and helpers over an identity fixture's services. */
export function createTxnTokenFixture(ids: IdentityFixture, options: { alg?: SigningAlg; trustDomain?: string } = {}): TxnTokenFixture {
  const trustDomain = options.trustDomain ?? TRUST_DOMAIN
  const key = generateFixtureKey(options.alg ?? 'ES256', `tts-${trustDomain}-1`)
  const gateway = ids.services['gateway']?.id ?? `spiffe://${TRUST_DOMAIN}/ns/default/sa/gateway`

  async function mint(spec: TxnTokenSpec = {}): Promise<string> {
    const now = spec.now ?? Math.floor(Date.now() / 1000)
    const claims: Record<string, unknown> = {
      iat: now,
      exp: now + (spec.lifetime ?? 300),
      aud: spec.aud ?? trustDomain,
      txn: spec.txn ?? randomUUID(),
      sub: spec.sub ?? 'alice',
      scope: spec.scope ?? 'review.read',
      req_wl: spec.reqWl ?? gateway,
      tctx: spec.tctx ?? userContext('alice'),
      rctx: spec.rctx ?? { req_ip: '127.0.0.1' },
      ...spec.claims,
    }
    const signer = spec.signWith ?? key
    return sign(signer, { alg: signer.alg, kid: key.kid, typ: TXN_TOKEN_TYP, ...spec.header }, claims)
  }

  return {
    key,
    trust: (overrides = {}) => ({ trustDomain, keys: { jwks: { keys: [key.publicJwk] } }, ...overrides }),
    mint,
    async headers(hop) {
      const txn = payloadOf(hop.txnToken)['txn'] as string
      const workload = await ids.mintWorkloadToken(hop.from, {
        audience: hop.to,
        transactionId: txn,
        ...hop.workload,
        claims: { tth: sha256Base64url(hop.txnToken), ...hop.workload?.claims },
      })
      const headers: Record<string, string> = { authorization: `Bearer ${workload}`, [TXN_TOKEN_HEADER]: hop.txnToken }
      if (hop.transactionHeader === true) headers[DEFAULT_TRANSACTION_HEADER] = txn
      return headers
    },
  }
}
