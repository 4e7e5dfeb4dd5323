/**
 * Option and result types of the trust side: trust anchors, actor issuers, key sources, key stores
 * and the events they report. Durations are in seconds unless the name ends in `Ms`.
 */
import type { CryptoKey } from 'jose'

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

/**
 * OpenID Connect Discovery: the keys are at the `jwks_uri` of the issuer's
 * `/.well-known/openid-configuration`. The document and the JWKS are fetched, cached and refreshed
 * with these options (the same rules and defaults as {@link RemoteJwksOptions}).
 */
export interface DiscoveryOptions {
  discovery: true | Omit<RemoteJwksOptions, 'jwksUrl'>
}

/**
 * Where the keys of one trust anchor come from: inline JWKS, a JWKS file, a JWKS URL, or OIDC
 * discovery from the anchor's `issuer`.
 */
export type KeySourceOptions = { jwks: JsonWebKeySet } | { jwksFile: string } | RemoteJwksOptions | DiscoveryOptions

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
  /**
   * The verification keys.
   * @defaultValue `{ discovery: true }`: found by OIDC discovery from `issuer`
   */
  keys?: KeySourceOptions | undefined
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

/**
 * A family of actor issuers that differ only by a tenant in the path (Entra ID tenants, Keycloak
 * realms): `issuerTemplate` with one `{tenant}`, and the tenants trusted. Each tenant's issuer is
 * checked exactly, with its own keys; actor ids are always `<tenant issuer>#<sub>`; policies see
 * the tenant as `request.principal.attr.act.user.attr.tenant`.
 */
export interface ActorIssuerFamily extends Omit<ActorIssuer, 'issuer' | 'actorIdPrefix'> {
  /** The issuer with `{tenant}` in its path, e.g. `https://login.example.com/{tenant}/v2.0`. */
  issuerTemplate: string
  /**
   * The tenants trusted: an explicit list, or a function deciding each tenant (asked once per tenant
   * while it is remembered; throwing trusts nobody). Required: no family trusts every tenant.
   */
  tenants: string[] | ((tenant: string) => boolean)
  /** Tenants whose issuer and keys are kept at once (least recently used go first). @defaultValue 100 */
  maxTenants?: number | undefined
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
  | { type: 'discovery_fetched'; source: string; durationMs: number }
  | { type: 'discovery_fetch_failed'; source: string; error: string }
  | { type: 'discovery_unavailable'; source: string }
  | { type: 'revocation_list_fetched'; source: string; durationMs: number }
  | { type: 'revocation_list_fetch_failed'; source: string; error: string }

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
  /** Signers of self-signed (or token-file) workload tokens. Optional when `workloadIssuers` is set. */
  workloads?: WorkloadTrustAnchor[] | undefined
  /** Issuers of actor tokens. @defaultValue none (actor tokens are then rejected) */
  actors?: ActorIssuer[] | undefined
  /**
   * The Txn-Token Service of this trust domain. With it, a `Txn-Token` header is accepted as the
   * actor credential (bound to the workload token by `txn` and `tth`). @defaultValue none (Txn-Tokens are rejected)
   */
  txnTokens?: TxnTokenServiceTrust | undefined
  /**
   * WIMSE workload issuers: per trust domain, the one issuer whose key set signs that domain's
   * Workload Identity Tokens. With them, requests with `Workload-Identity-Token` and
   * `Authorization: WPT` are accepted, and the callee's trust no longer grows with its callers.
   * @defaultValue none (WIT/WPT requests are refused)
   */
  workloadIssuers?: WorkloadIssuerTrust[] | undefined
  /** Families of actor issuers, one tenant each (consulted after `actors`). @defaultValue none */
  actorIssuerFamilies?: ActorIssuerFamily[] | undefined
  /** Called for every trust event; exceptions it throws are swallowed. */
  onEvent?: ((event: TrustEvent) => void) | undefined
  /** Milliseconds clock. @defaultValue `Date.now` */
  clock?: (() => number) | undefined
}

/** The Txn-Token Service a receiver trusts: the signer of its trust domain's Txn-Tokens. */
export interface TxnTokenServiceTrust {
  /** This trust domain: the `aud` every accepted Txn-Token must name (e.g. `example.org`). */
  trustDomain: string
  /** The TTS's public keys: `{ jwksUrl }` (its JWKS endpoint), `{ jwks }` or `{ jwksFile }`. */
  keys: KeySourceOptions
  /** When set, the exact `iss` every accepted Txn-Token must carry. @defaultValue not checked (`iss` is OPTIONAL) */
  issuer?: string | undefined
  /** Accepted `typ` values. @defaultValue `['txntoken+jwt']` */
  typ?: string[] | undefined
  /** Asymmetric algorithms allowed. @defaultValue EdDSA, ES256, ES384, PS256, RS256 */
  algorithms?: string[] | undefined
  /** Maximum `exp - iat`, seconds. @defaultValue 300 */
  maxLifetime?: number | undefined
}

/**
 * The identity server of one trust domain (creds §3): its key set verifies every WIT whose `sub` is
 * in `trustDomain`. Keys are never taken from a URL found in a token.
 */
export interface WorkloadIssuerTrust {
  /** The trust domain, e.g. `example.org`: WITs with `sub` = `spiffe://example.org/...` (or `wimse://`). */
  trustDomain: string
  /** The issuer's public keys: `{ jwks }`, `{ jwksFile }` or `{ jwksUrl }`. WITs must carry a `kid`. */
  keys: KeySourceOptions
  /** When set, the exact `iss` every WIT must carry. @defaultValue not checked (`iss` is RECOMMENDED only) */
  issuer?: string | undefined
  /**
   * Whether this issuer may assert roles and attributes in the `https://meshguard.dev/wit` claim
   * (`{ roles, attr }` → principal roles and `principal.attr.wit`). Otherwise the claim grants nothing.
   * @defaultValue false
   */
  attributeAuthority?: boolean | undefined
  /** Algorithms the issuer may sign WITs with. @defaultValue EdDSA, ES256, ES384, PS256, RS256 */
  algorithms?: string[] | undefined
  /** Algorithms a WIT's `cnf.jwk.alg` (the proof algorithm) may name. @defaultValue EdDSA, ES256, ES384, PS256, RS256 */
  proofAlgorithms?: string[] | undefined
  /** Roles this service grants every workload of the domain (beside the identifier's last segment). @defaultValue none */
  roles?: string[] | undefined
}

/** A verification key from a bundle, with the algorithms it may be used with. */
export interface KeyEntry {
  readonly kid: string
  /** One key, its algorithms: the JWK `alg` if present, otherwise those its type allows. */
  readonly algorithms: ReadonlySet<string>
  /** The imported key for one algorithm (imported once, then reused). */
  key(alg: string): Promise<CryptoKey | Uint8Array>
  /** The imported key for one algorithm if its import has finished, so callers can skip a promise. */
  keyNow?(alg: string): CryptoKey | Uint8Array | undefined
}

/** Finds verification keys by `kid`. */
export interface KeyStore {
  /** A short, token-free description for events (`inline`, the file path, the URL). */
  readonly source: string
  /**
   * The key with this kid.
   * @throws IdentityError `unknown_key`; UnavailableError `jwks_unavailable` (remote only)
   */
  getKey(kid: string): Promise<KeyEntry> | KeyEntry
  /**
   * The entry `getKey(kid)` would return right now without waiting, or undefined when it would
   * wait, fail or return another entry. Never fetches; it lets a cached verification ask whether
   * its key is still trusted, so the cache cannot outlive a key's removal.
   */
  currentKey(kid: string): KeyEntry | undefined
}

/** Context a key store needs from its bundle. */
export interface KeyStoreContext {
  // Function-valued (not methods): stores pass them on unbound.
  readonly emit: (event: TrustEvent) => void
  readonly clock: () => number
  /** The JWK `use` values this store's keys may carry. @defaultValue `sig`, `jwt-svid` */
  readonly keyUses?: ReadonlySet<string> | undefined
}

/** @internal An actor issuer after validation. */
export interface ResolvedActorIssuer {
  readonly issuer: string
  readonly keys: KeyStore
  readonly audiences: ReadonlySet<string>
  readonly typ: ReadonlySet<string>
  readonly algorithms: ReadonlySet<string>
  readonly maxTokenAge: number
  readonly maxLifetime: number
  /** Claims that describe the actor to policies; undefined: all of them. */
  readonly authoritativeClaims: ReadonlySet<string> | undefined
  /** Put before every actor id from this issuer. */
  readonly actorIdPrefix: string
  /** The tenant, for an issuer of a family. */
  readonly tenant?: string | undefined
}
