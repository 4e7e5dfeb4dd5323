/**
 * Public option types of the Txn-Token Service. Durations are in seconds unless the name ends in `Ms`.
 */
import type { KeyObject } from 'node:crypto'
import type { AuditLog, DecisionEngine, JsonWebKeySet, Telemetry, TrustBundle, TrustBundleOptions } from '@meshguard/core'
import type { TxnTokenSharedState } from './state/shared-state.js'
import type { SubjectTokenKind, TxnTokenUser } from './token-format.js'
import type { WitIssuerOptions } from './wit/wit-options.js'

/** Algorithms Txn-Tokens can be signed with; the key type decides (RSA → PS256 unless RS256 is asked for). */
export type TxnTokenAlgorithm = 'ES256' | 'EdDSA' | 'PS256' | 'RS256'

/** One signing key: a private key (KeyObject, PEM, `{ file }` or `{ env }`) and its published `kid`. */
export interface TxnTokenSigningKeyInput {
  key: KeyObject | string | { file: string } | { env: string }
  kid: string
  /** Checked against the key type; for RSA keys chooses PS256 (default) or RS256. */
  alg?: TxnTokenAlgorithm | undefined
}

/** Where a subject-token issuer's verification keys come from. */
export type SubjectIssuerKeys =
  | { jwksUrl: string }
  | { jwks: JsonWebKeySet }
  /** A JWKS file, read at startup. */
  | { jwksFile: string }
  /** OIDC discovery: `<issuer>/.well-known/openid-configuration` names the `jwks_uri`. */
  | { discovery: true }

/** Which claims of a subject token describe the user in `tctx.user`. */
export interface SubjectUserClaims {
  /** Claim holding the user's roles (array of strings). @defaultValue `'roles'` */
  rolesClaim?: string | undefined
  /** Claims copied into `tctx.user.attr`. @defaultValue none */
  attributeClaims?: string[] | undefined
}

/** An issuer whose tokens the service accepts as `subject_token` (external access, ID or other JWTs). */
export interface SubjectIssuerOptions {
  /** The exact `iss`. */
  issuer: string
  /** Verification keys. */
  keys: SubjectIssuerKeys
  /** Accepted audiences (any one must be in `aud`): the public API for access tokens, client ids for ID tokens. */
  audiences: string[]
  /** Which subject token types may come from this issuer. @defaultValue `['access_token']` */
  tokenTypes?: Array<'access_token' | 'jwt' | 'id_token'> | undefined
  /**
   * Accepted `typ` headers. @defaultValue `['at+jwt']` for access tokens; ID tokens and plain JWTs may
   * omit `typ` or use `JWT` (never a Txn-Token's or a workload token's `typ`)
   */
  typ?: string[] | undefined
  /** Allowed signature algorithms. @defaultValue EdDSA, ES256, ES384, PS256, RS256 */
  algorithms?: string[] | undefined
  /** Refuse tokens issued longer ago than this. @defaultValue 3600 */
  maxTokenAge?: number | undefined
  /**
   * Put before `sub` to make it unique in the trust domain (draft §9.2: `sub` is not scoped by `iss`).
   * @defaultValue `''` with one subject issuer; `<issuer>#` with several
   */
  subjectPrefix?: string | undefined
  /** Claim holding the token's scope (space-separated string or array). @defaultValue `'scope'` */
  scopeClaim?: string | undefined
  /** Claims that fill `tctx.user`. */
  user?: SubjectUserClaims | undefined
  /** Abort a discovery or JWKS fetch after this long. @defaultValue 5000 */
  timeoutMs?: number | undefined
}

/** What the service knows about a verified subject, for hooks and policies. */
export interface SubjectInfo {
  /** The subject token type. */
  readonly tokenType: SubjectTokenKind
  /** Who vouched for it: the subject issuer, the requesting workload (self_signed) or this service (txn_token). */
  readonly issuer: string
  /** `sub` as the token carries it. */
  readonly sub: string
  /** The Txn-Token `sub`: unique in the trust domain. */
  readonly id: string
  /** The session id (`sid`), when the token carries one. */
  readonly sid: string | undefined
  /** The transaction id, for replacements. */
  readonly txn: string | undefined
  /** The verified claims (frozen). */
  readonly claims: Readonly<Record<string, unknown>>
}

/**
 * Looks the user up (a directory or database call). Returned roles and attributes replace those
 * read from claims of the same name; `undefined` keeps the claims' view. A rejection refuses the
 * request with 503 (fail closed).
 */
export type UserLookup = (subject: SubjectInfo) => Promise<Partial<TxnTokenUser> | undefined> | Partial<TxnTokenUser> | undefined

/** True when the subject or its session is revoked: the exchange is refused (`invalid_grant`). */
export type RevocationCheck = (subject: SubjectInfo) => Promise<boolean> | boolean

/** Limits on what a request may carry. */
export interface TxnTokenServiceLimits {
  /** Largest request body accepted. @defaultValue 32768 */
  maxBodyBytes?: number | undefined
  /** Largest subject token or client assertion. @defaultValue 8192 */
  maxTokenBytes?: number | undefined
  /** Largest `request_context` / `request_details` JSON text. @defaultValue 4096 */
  maxJsonBytes?: number | undefined
  /** Most scope values in one request. @defaultValue 32 */
  maxScopes?: number | undefined
}

/** Options of `createTxnTokenService`. */
export interface TxnTokenServiceOptions {
  /** The service's own URL (`https:`, or `http:` on a loopback host); `iss` of its tokens. */
  issuer: string
  /** The trust domain: the `audience` requests must name and every token's `aud`. */
  trustDomain: string
  /** Signing keys; the first signs, the others are published (rotation). At least one. */
  signingKeys: TxnTokenSigningKeyInput[]
  /**
   * Who may request tokens: workload trust anchors as in core's trust bundle. A workload
   * authenticates with a `private_key_jwt` assertion signed by its key (`iss = sub` = its SPIFFE ID);
   * its roles and attributes for the issuance policy come from these anchors only. `actors` is unused.
   */
  trust: TrustBundle | TrustBundleOptions
  /** Issuers of external subject tokens (access, ID and other JWTs). @defaultValue none */
  subjectIssuers?: SubjectIssuerOptions[] | undefined
  /** Decides who may get which token (resource kind `txn_token`, actions `issue` and `replace`). */
  engine: DecisionEngine
  /** Lifetime of issued tokens, 10 to 3600. @defaultValue 300 */
  tokenLifetime?: number | undefined
  /** Most replacements per transaction (counted where `sharedState` says: per process by default). @defaultValue 10 */
  maxReplacements?: number | undefined
  /** Adds roles and attributes of the user from a directory or database. */
  lookupUser?: UserLookup | undefined
  /** Refuses revoked subjects and sessions. */
  isRevoked?: RevocationCheck | undefined
  /** `request_details` members allowed into `tctx`. @defaultValue any (the policy sees them all) */
  detailKeys?: string[] | undefined
  /** `request_context` members allowed into `rctx`. @defaultValue any */
  contextKeys?: string[] | undefined
  /** Clock skew tolerated on subject tokens and client assertions, at most 60. @defaultValue 30 */
  clockTolerance?: number | undefined
  /** After `rotateKey`, the new key is published this long before it signs. @defaultValue 60 */
  keyActivationDelay?: number | undefined
  /** Request limits. */
  limits?: TxnTokenServiceLimits | undefined
  /** Audit log for every issuance and refusal. @defaultValue none */
  audit?: AuditLog | undefined
  /** Spans and metrics. @defaultValue `createTelemetry()` (the global providers) */
  telemetry?: Telemetry | undefined
  /**
   * Also issue WIMSE Workload Identity Tokens (`POST /wit`, keys at `/.well-known/wit-jwks.json`),
   * decided by the same engine (resource kind `workload_identity`). @defaultValue off
   */
  wit?: WitIssuerOptions | undefined
  /**
   * Stores the replicas of this service share: used client-assertion and WIT proof `jti`s, and
   * replacement counts (e.g. {@link redisSharedState}). Without it each process keeps its own, in
   * bounded memory: run one replica then, or an assertion refused by one is accepted by the next
   * and each replica allows `maxReplacements`. A store that fails or times out refuses the request
   * with 503 (`temporarily_unavailable`); nothing is issued unrecorded. @defaultValue per process
   */
  sharedState?: TxnTokenSharedState | undefined
  /** Milliseconds clock. @defaultValue `Date.now` */
  clock?: (() => number) | undefined
}
