/**
 * Option and result types of the verifying side. Durations are in seconds unless the name ends in
 * `Ms`.
 */
import type { ActorType } from '../caller.js'
import type { TrustBundle } from '../trust/trust-bundle.js'
import type { TrustBundleOptions, TrustCounters } from '../trust/types.js'
import type { ReplayCounters, ReplayOptions } from './replay.js'
import type { RevocationOptions } from './revocation.js'

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
  /**
   * The request-target as received (`/reviews/7?x=1`, from `req.originalUrl` or the raw URL). A WPT's
   * `aud` must be one of `wimse.origins` followed by this path (query ignored); adapters pass it.
   * @defaultValue none (only `wimse.audiences` aliases can then match)
   */
  target?: string | undefined
}

/**
 * How a callee receives WIMSE workload credentials (`Workload-Identity-Token` + `Authorization: WPT`),
 * next to `trust.workloadIssuers`. Durations in seconds.
 */
export interface WimseReceiverOptions {
  /**
   * This service's external origins (`https://reviews.example.org`): a WPT's `aud` must be one of them
   * followed by the request path. Taken from configuration only, never from `Host` or `X-Forwarded-Host`.
   */
  origins?: string[] | undefined
  /** Whole `aud` values also accepted (where proxies rewrite URIs), e.g. this service's SPIFFE ID. */
  audiences?: string[] | undefined
  /**
   * `wpt`: only WIT/WPT requests; a `Bearer` workload token is refused (`wpt_required`).
   * `wpt-and-bearer`: also the self-signed profile, during a migration (dispatched on the
   * `Authorization` scheme; a request with a WIT never falls back to `Bearer`).
   * @defaultValue `'wpt'`
   */
  accept?: 'wpt' | 'wpt-and-bearer' | undefined
  /** Longest WPT lifetime accepted (`exp - now`), at most 300. @defaultValue 60 */
  maxWptTtl?: number | undefined
  /** Clock skew tolerated on WIT and WPT times, at most 120. @defaultValue 30 */
  clockSkew?: number | undefined
  /** Context-token headers a WPT's `oth` may bind (any case); others in `oth` are refused. @defaultValue none */
  otherTokens?: string[] | undefined
  /** Verified WITs kept (by SHA-256, until their `exp`). @defaultValue 10000 */
  witCacheSize?: number | undefined
}

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
  /**
   * This service's audience name(s); self-signed workload tokens must be minted for one of them.
   * Optional for a service that accepts WIT/WPT only (`wimse.accept: 'wpt'`).
   */
  audience?: string | string[] | undefined
  /** `exact`: `aud` is exactly one of ours; `contains`: ours is among several. @defaultValue `'exact'` */
  audienceMode?: 'exact' | 'contains' | undefined
  /** The trust bundle (shared between verifiers) or its options. */
  trust: TrustBundle | TrustBundleOptions
  /** Header carrying the actor token. @defaultValue `'x-meshguard-actor'` */
  actorHeader?: string | undefined
  /** Header carrying the transaction id. @defaultValue `'x-meshguard-txn'` */
  transactionHeader?: string | undefined
  /** Header carrying a Txn-Token (accepted when the trust bundle names a `txnTokens` service). @defaultValue `'txn-token'` */
  txnTokenHeader?: string | undefined
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
  /**
   * WIMSE workload credentials (WIT + WPT); required when the trust bundle has `workloadIssuers`.
   * WPTs are single-use: their `(sub, jti)` go to `replay.store` (or an in-memory store) whether or
   * not `replay` is configured.
   * @defaultValue off
   */
  wimse?: WimseReceiverOptions | undefined
  /**
   * One-time use of workload tokens: each `jti` is accepted once at this service (`token_replayed`
   * after that, `claim_missing` without `jti`). Off when absent.
   * @defaultValue off
   */
  replay?: ReplayOptions | undefined
  /**
   * Revocation before expiry: a polled revocation list and/or a check hook, by `jti`, `sid`, `sub`
   * and issuer, for both tokens on every request (`token_revoked`). Off when absent.
   * @defaultValue off
   */
  revocation?: RevocationOptions | undefined
}

/** Statistics of a verifier, for metrics (replay counters stay 0 while one-time use is off). */
export interface VerifierStats extends TrustCounters, ReplayCounters {
  /** Tokens refused as revoked. */
  revokedRefused: number
  /** Requests answered from the verified-result cache. */
  cacheHits: number
  /** Requests that verified signatures. */
  cacheMisses: number
  /** Entries in the cache now. */
  cacheSize: number
  /** WIMSE: requests whose WIT came from the verified-WIT cache (0 without `wimse`). */
  witCacheHits: number
  /** WIMSE: requests whose WIT was verified afresh. */
  witCacheMisses: number
  /** WIMSE: verified WITs held now (at most `wimse.witCacheSize`). */
  witCacheSize: number
}
