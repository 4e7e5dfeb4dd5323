/**
 * Public option and result types of the identity module. Durations are in seconds unless the
 * name ends in `Ms`.
 */
import type { Principal } from '../types.js'
import type { TrustBundle } from './trust-bundle.js'

/** A JSON Web Key as found in a JWKS (public members only are used). */
export interface PublicJwk {
  kty: string
  kid?: string | undefined
  alg?: string | undefined
  use?: string | undefined
  key_ops?: string[] | undefined
  crv?: string | undefined
  x?: string | undefined
  y?: string | undefined
  n?: string | undefined
  e?: string | undefined
  [member: string]: unknown
}

/** A JSON Web Key Set. */
export interface JsonWebKeySet {
  keys: PublicJwk[]
}

/** Options of a remote JWKS (fetched over HTTP, cached, refreshed with limits). */
export interface RemoteJwksOptions {
  /** The JWKS URL. `https:` is required except for loopback hosts. */
  jwksUrl: string
  /** Abort a fetch after this long; no lookup waits longer for one. @defaultValue 5000 */
  timeoutMs?: number | undefined
  /** Minimum time between two fetches triggered by an unknown `kid` or a failure. @defaultValue 30000 */
  cooldownMs?: number | undefined
  /**
   * Keys are refreshed once older than this. A known `kid` is then answered at once from the stale
   * set while one refresh runs in the background (stale-while-revalidate). @defaultValue 600000 (10 min)
   */
  cacheMaxAgeMs?: number | undefined
  /**
   * While the endpoint fails, keep serving the last known keys for this long past `cacheMaxAgeMs`,
   * then fail closed (`UnavailableError`, reason `jwks_unavailable`). @defaultValue 3600000 (1 h)
   */
  staleIfErrorMs?: number | undefined
  /** Extra request headers (e.g. an API key for a private bundle endpoint). */
  headers?: Record<string, string> | undefined
  /** The fetch implementation (tests, proxies). @defaultValue `globalThis.fetch` */
  fetch?: typeof fetch | undefined
}

/** Where the keys of one trust anchor come from: inline JWKS, a JWKS file, or a JWKS URL. */
export type KeySourceOptions = { jwks: JsonWebKeySet } | { jwksFile: string } | RemoteJwksOptions

/**
 * One trusted signer of workload tokens, with the identities its keys may sign for. A key of this
 * anchor can never vouch for an identity outside `identities` (service A's key cannot mint a token
 * that says it is service B).
 */
export interface WorkloadTrustAnchor {
  /**
   * The exact `iss` its tokens carry. For self-signed workload tokens this is the service's SPIFFE
   * ID. Omit only for JWT-SVIDs without `iss`.
   */
  issuer?: string | undefined
  /**
   * Identities (`sub`) the keys may sign for: exact SPIFFE IDs or `spiffe://<td>/*`.
   * @defaultValue `[issuer]` when `issuer` is a SPIFFE ID (self-signed), otherwise required
   */
  identities?: string[] | undefined
  /** The verification keys. */
  keys: KeySourceOptions
  /**
   * Accepted `typ` header values (compared case-insensitively, `application/` prefix optional).
   * @defaultValue `['workload+jwt']`
   */
  typ?: string[] | undefined
  /** Accept tokens without a `typ` header (JWT-SVIDs may omit it). @defaultValue false */
  typOptional?: boolean | undefined
  /** Allowed signature algorithms (asymmetric only). @defaultValue EdDSA, ES256, ES384, PS256, RS256 */
  algorithms?: string[] | undefined
  /**
   * Require the `ath` actor binding whenever an actor token travels with a token of this anchor.
   * Turn off only for token sources that cannot bind (SPIRE token files, client credentials).
   * @defaultValue true
   */
  requireActorBinding?: boolean | undefined
  /**
   * Roles this service grants every identity the anchor vouches for, beside the identity's own role
   * (the last segment of its SPIFFE ID). This configuration is the authority: no token can add to it.
   * @defaultValue none
   */
  roles?: string[] | undefined
  /**
   * Attributes this service grants every identity the anchor vouches for
   * (`request.principal.attr.<name>`); they win over claims of the same name.
   * @defaultValue none
   */
  attributes?: Record<string, unknown> | undefined
  /**
   * Claims this anchor's issuer is trusted to assert about the workloads it vouches for: only an
   * issuer that is not the workload itself (a SPIRE server, an identity or token service) can be.
   * The roles claim (`claims.workloadRolesClaim`) adds roles, `act` makes the token's delegation
   * chain evidence that the workload may present an actor token issued upstream, any other name
   * becomes an attribute. Refused on a self-signed anchor (every claim of a self-signed token is
   * the workload's own say, so none of them grants anything).
   * @defaultValue none
   */
  authoritativeClaims?: string[] | undefined
}

/** One trusted issuer of actor tokens (end users' or AI agents' access tokens). */
export interface ActorIssuer {
  /** The exact `iss`, e.g. `https://idp.example.org`. */
  issuer: string
  /** The verification keys. */
  keys: KeySourceOptions
  /** Audiences accepted on actor tokens (any one must be present in `aud`). */
  audiences: string[]
  /** Accepted `typ` values. @defaultValue `['at+jwt']` */
  typ?: string[] | undefined
  /** Allowed signature algorithms (asymmetric only). @defaultValue EdDSA, ES256, ES384, PS256, RS256 */
  algorithms?: string[] | undefined
  /** Reject tokens issued (`iat`) longer ago than this. @defaultValue 3600 */
  maxTokenAge?: number | undefined
  /** Reject tokens whose `exp - iat` exceeds this. @defaultValue 86400 */
  maxLifetime?: number | undefined
  /**
   * The claims of this issuer's tokens that describe the actor to policies (roles, type and
   * attributes); `sub` and `client_id` identify the actor and are always read.
   * @defaultValue every claim that is not about the token itself
   */
  authoritativeClaims?: string[] | undefined
  /**
   * Put before every actor id from this issuer (`sub` is unique only per issuer). No two issuers'
   * prefixes may be equal or start with one another.
   * @defaultValue `''` with one actor issuer; `<issuer>#` with several
   */
  actorIdPrefix?: string | undefined
}

/** The events a trust bundle reports, for metrics and logs. Never contain tokens. */
export type TrustEvent =
  | { type: 'jwks_fetched'; source: string; keys: number; durationMs: number }
  | { type: 'jwks_fetch_failed'; source: string; error: string }
  | { type: 'jwks_stale_served'; source: string; ageMs: number }
  | { type: 'jwks_refresh_suppressed'; source: string }
  | { type: 'jwks_unavailable'; source: string }
  | { type: 'jwks_file_reloaded'; source: string; keys: number }
  | { type: 'jwk_ignored'; source: string; reason: string }

/** Running totals of trust-bundle events (for metrics). */
export interface TrustCounters {
  /** Successful JWKS fetches. */
  jwksFetches: number
  jwksFetchFailures: number
  jwksStaleServed: number
  jwksRefreshSuppressed: number
  jwksUnavailable: number
}

/** Options of {@link createTrustBundle}. */
export interface TrustBundleOptions {
  /** Signers of workload tokens. */
  workloads: WorkloadTrustAnchor[]
  /** Issuers of actor tokens. @defaultValue none (actor tokens are then rejected) */
  actors?: ActorIssuer[] | undefined
  /** Called for every trust event; exceptions it throws are swallowed. */
  onEvent?: ((event: TrustEvent) => void) | undefined
  /** Milliseconds clock. @defaultValue `Date.now` */
  clock?: (() => number) | undefined
}

/** Whether a route needs an actor (user or agent) next to the workload. */
export type ActorRequirement = 'required' | 'forbidden' | 'optional'

/** Per-call options of `verifier.verify`. */
export interface VerifyCallOptions {
  /** @defaultValue `'optional'` */
  actor?: ActorRequirement | undefined
  /**
   * The transaction id of a call that starts a chain (neither the token's `txn` nor the header
   * carries one). The guard passes the decision id, so the first hop's records share one id.
   * @defaultValue a new random UUID
   */
  newTransactionId?: string | undefined
}

/** A request's headers: lower-case names, every value received (duplicates kept as arrays). */
export type HeaderView = Readonly<Record<string, string | readonly string[] | undefined>>

/** What kind of actor a token stands for. */
export type ActorType = 'user' | 'agent'

/** Mapped roles and attributes of a workload. */
export interface WorkloadMapping {
  roles: string[]
  attr: Record<string, unknown>
}

/** Mapped identity of an actor. */
export interface ActorMapping {
  id: string
  type: ActorType
  roles: string[]
  attr: Record<string, unknown>
}

/**
 * What the callee's trust configuration says about a verified workload: the input of a workload
 * mapping beside the claims an authority asserted.
 */
export interface WorkloadGrant {
  /** True when the workload signed its own token: none of its claims is evidence of anything. */
  readonly selfSigned: boolean
  /** Roles the trust anchor grants (`roles`). */
  readonly roles: readonly string[]
  /** Attributes the trust anchor grants (`attributes`). */
  readonly attributes: Readonly<Record<string, unknown>>
}

/** How verified claims become roles and attributes. Functions override the claim-name options. */
export interface ClaimMappingOptions {
  /**
   * Claim holding workload roles, read only from anchors that are an authority for it
   * (`authoritativeClaims`), never from a self-signed token. @defaultValue `'roles'`
   */
  workloadRolesClaim?: string | undefined
  /** Claim holding actor roles. @defaultValue `'roles'` */
  actorRolesClaim?: string | undefined
  /** Claim naming the actor type (`agent`/`ai_agent` → agent). @defaultValue `'actor_type'` */
  actorTypeClaim?: string | undefined
  /**
   * Full control over the workload mapping. `claims` holds only what an authority asserted (the
   * registered claims, plus the anchor's `authoritativeClaims` when its issuer is not the workload);
   * every verified claim stays readable by handlers as `caller.workload.claims`.
   */
  mapWorkload?: ((claims: Readonly<Record<string, unknown>>, id: string, grant: WorkloadGrant) => WorkloadMapping) | undefined
  /** Full control over the actor mapping. */
  mapActor?: ((claims: Readonly<Record<string, unknown>>) => ActorMapping) | undefined
}

/** Options of {@link createIdentityVerifier}. */
export interface IdentityVerifierOptions {
  /** This service's audience name(s); workload tokens must be minted for one of them. */
  audience: string | string[]
  /** `exact`: `aud` is exactly one of ours; `contains`: ours is among several. @defaultValue `'exact'` */
  audienceMode?: 'exact' | 'contains' | undefined
  /** The trust bundle (shared between verifiers) or its options. */
  trust: TrustBundle | TrustBundleOptions
  /** Header carrying the actor token. @defaultValue `'x-meshguard-actor'` */
  actorHeader?: string | undefined
  /** Header carrying the transaction id. @defaultValue `'x-meshguard-txn'` */
  transactionHeader?: string | undefined
  /** Clock skew tolerated on `exp`, `nbf` and `iat`, at most 60. @defaultValue 30 */
  clockTolerance?: number | undefined
  /** Maximum `exp - iat` of a workload token. @defaultValue 900 */
  maxWorkloadLifetime?: number | undefined
  /** Maximum size of one token in bytes. @defaultValue 8192 */
  maxTokenBytes?: number | undefined
  /** Maximum depth of an `act` delegation chain. @defaultValue 5 */
  maxActDepth?: number | undefined
  /** Claim → role/attribute mapping. */
  claims?: ClaimMappingOptions | undefined
  /** Verified-result cache size (entries); 0 disables it. @defaultValue 10000 */
  cacheSize?: number | undefined
  /**
   * Where a signature that is not remembered is checked. `threadpool`: node:crypto on a libuv
   * threadpool thread, so the event loop serves other requests meanwhile and a second core shares
   * the work of new tokens (more requests per second under load; a thread hop of latency per new
   * token). `inline`: synchronously on the event loop (the lowest latency for a lone request).
   * Tokens served from the cache or the signature memo are never checked again either way.
   * @defaultValue `'threadpool'`
   */
  signatureCheck?: 'threadpool' | 'inline' | undefined
  /** Milliseconds clock. @defaultValue `Date.now` */
  clock?: (() => number) | undefined
}

/** The verified calling workload. */
export interface VerifiedWorkload {
  /** Its SPIFFE ID. */
  id: string
  /** The trust domain of its SPIFFE ID. */
  trustDomain: string
  /** The token's `iss`, if any. */
  issuer: string | undefined
  /** Roles from the claim mapping (default: the last SPIFFE path segment plus the roles the trust configuration grants). */
  roles: string[]
  /** True when the workload signed its own token (its claims are self-asserted). */
  selfSigned: boolean
  /** All verified claims (informational when `selfSigned`: never grant on them). */
  claims: Readonly<Record<string, unknown>>
}

/** The verified actor (end user or AI agent) the workload acts for. */
export interface VerifiedActor {
  /** The actor's id (default: `sub`). */
  id: string
  /** `user` or `agent` (agents carry `attr.type = "AI_AGENT"`). */
  type: ActorType
  /** Roles from the claim mapping (default: the `roles` claim). */
  roles: string[]
  /** Attributes for policies: the claims that describe the actor, not the token. */
  attr: Record<string, unknown>
  /** The trusted issuer that signed the actor token. */
  issuer: string
  /** All verified claims. */
  claims: Readonly<Record<string, unknown>>
}

/** The delegation chains, for the audit record only (never for decisions, RFC 8693 §4.1). */
export interface Delegation {
  /**
   * Workloads earlier in the call chain, nearest first (from the workload token's `act`). Written by
   * the calling workload itself unless its anchor is an authority for `act`: informational only.
   */
  workloads: string[]
  /** Actors named in the actor token's own `act` chain, current actor first. */
  actorChain: string[]
}

/** sha256 digests (base64url) of the presented tokens, for audit. Never the tokens themselves. */
export interface TokenDigests {
  /** Digest of the workload token. */
  workload: string
  /** Digest of the actor token, when one came (equals the workload token's `ath`). */
  actor?: string | undefined
}

/** The outcome of a successful verification. */
export interface VerifiedCaller {
  /** Who is calling. */
  workload: VerifiedWorkload
  /** On whose behalf, when an actor token came. */
  actor?: VerifiedActor | undefined
  /** Earlier parties of the call, for audit only. */
  delegation: Delegation
  /** The transaction id of this call chain (from the token, the header, or freshly generated). */
  transactionId: string
  tokenDigests: TokenDigests
  /** The principal for the engine: the workload, with the actor in `attr.act.user`. */
  principal: Principal
  /** When the earliest of the tokens expires (epoch ms). */
  expiresAt: number
}

/** Statistics of a verifier, for metrics. */
export interface VerifierStats extends TrustCounters {
  /** Requests answered from the verified-result cache. */
  cacheHits: number
  /** Requests that verified signatures. */
  cacheMisses: number
  /** Entries in the cache now. */
  cacheSize: number
}
