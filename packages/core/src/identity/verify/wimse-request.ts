/**
 * One WIMSE request (`Workload-Identity-Token` + `Authorization: WPT`), checked in the order of the
 * research note §3: header shape, the WIT (cached by its SHA-256), the WPT, `jti` replay, then the
 * Txn-Token, then the caller the policy sees. Roles come from this service's configuration and, only
 * from an issuer configured as an attribute authority, from the WIT's `https://meshguard.dev/wit`
 * claim; never from the WPT or from headers.
 */
import { IdentityError } from '../../errors.js'
import { deepFreeze } from '../../internal/deep-freeze.js'
import { andThen, type MaybePromise } from '../../internal/maybe-async.js'
import type { Delegation, VerifiedActor, VerifiedCaller } from '../caller.js'
import { sha256Base64url } from '../digest.js'
import { singleHeader, type HeaderView } from '../headers.js'
import { isWptAuthorization, parseWptAuthorization, WIT_HEADER } from '../wimse-wire.js'
import { authoritativeClaims, runMapping } from './principal.js'
import type { PrincipalMemo } from './principal-memo.js'
import { aboutToken } from './token-kind.js'
import { TokenMemo } from './token-memo.js'
import { readTxnTokenHeader, verifyTxnToken } from './txn-token.js'
import { txnSideOf, type TxnSide } from './txn-side.js'
import type { WorkloadGrant, WorkloadMapping } from './types.js'
import type { VerifierSettings } from './verifier-settings.js'
import { audienceWithoutQuery, verifyWpt, type VerifiedWpt } from './wpt.js'
import { verifyWit, WitCache, type VerifiedWit } from './wit.js'
import type { WimseSettings } from './wimse-settings.js'

/** A WIMSE request's verification: the caller (without its transaction id) and the Txn-Token it came with. */
export interface WimseVerified {
  readonly caller: Omit<VerifiedCaller, 'transactionId'>
  /** The Txn-Token as received, when one came. */
  readonly txnToken: string | undefined
  /** The WIT, for revocation checks on its claims. */
  readonly wit: VerifiedWit
  /**
   * The Txn-Token's claims when it carries an actor, for revocation checks on them (as the
   * self-signed profile checks a Txn-Token's claims as its actor token).
   */
  readonly txnClaims: Readonly<Record<string, unknown>> | undefined
}

/** Txn-Token digests remembered: one Txn-Token travels unchanged through every hop of a transaction. */
const TXN_DIGESTS = 512

/** The context-token headers of a receiver that understands none. */
const NO_OTHER_TOKENS: ReadonlyMap<string, string | undefined> = new Map()

/** A WIMSE caller has no workload chain: each hop proves only itself. */
const NO_DELEGATION: Delegation = deepFreeze({ workloads: [], actorChain: [] })

/** The context-token headers this receiver understands → the value received, if any. */
function otherTokensOf(headers: HeaderView, names: readonly string[], maxHeaderBytes: number): ReadonlyMap<string, string | undefined> {
  const found = new Map<string, string | undefined>()
  for (const name of names) found.set(name, singleHeader(headers, name, 'actor', maxHeaderBytes))
  return found
}

/** A replay refusal reads as the WPT's (`wpt_replay`); any other failure is about the workload credential. */
function renamed(err: unknown): never {
  if (err instanceof IdentityError && err.reason === 'token_replayed') {
    throw new IdentityError('wpt_replay', 'this WPT was already used at this service', { tokenKind: 'workload', cause: err })
  }
  throw aboutToken(err, 'workload')
}

/** The path of a request-target (origin-form or absolute-form), without query or fragment. */
function targetPath(target: string | undefined): string | undefined {
  if (target === undefined || target === '') return undefined
  if (target.startsWith('/')) return audienceWithoutQuery(target)
  try {
    // Absolute-form: only its path is used; the origin always comes from configuration.
    return new URL(target).pathname
  } catch {
    return undefined
  }
}

/** The WIMSE side of one verifier: the WIT cache and the mapping memo live here. */
export class WimseRequestVerifier {
  private readonly wits: WitCache
  /** The workload mapping per verified WIT (the default mapping is a pure function of it). */
  private readonly mappings = new WeakMap<VerifiedWit, WorkloadMapping>()
  /** The frozen `workload` part of the caller per mapping (a pure mapping is one object per WIT). */
  private readonly workloads = new WeakMap<WorkloadMapping, { readonly wit: VerifiedWit; readonly workload: VerifiedCaller['workload'] }>()
  /** SHA-256 of Txn-Tokens that verified here (for `tth`), so a transaction's next hops skip the hash. */
  private readonly txnDigests = new TokenMemo<string>(TXN_DIGESTS)

  constructor(
    private readonly settings: VerifierSettings,
    private readonly wimse: WimseSettings,
    private readonly principals: PrincipalMemo,
  ) {
    this.wits = new WitCache(wimse.witCacheSize)
  }

  /** WIT cache counters, for stats. */
  get witCache(): { readonly hits: number; readonly misses: number; readonly size: number } {
    return { hits: this.wits.hits, misses: this.wits.misses, size: this.wits.size }
  }

  /**
   * Verifies a request whose `authorization` uses the `WPT` scheme (or that carries a WIT).
   *
   * @throws IdentityError `wit_*`, `wpt_*`, `duplicate_header`, `txn_token_*`; UnavailableError
   *   `jwks_unavailable`, `replay_store_unavailable`
   */
  verify(headers: HeaderView, authorization: string | undefined, target: string | undefined, nowMs: number): MaybePromise<WimseVerified> {
    const { settings, wimse } = this
    const { maxHeaderBytes, maxTokenBytes, offload } = settings
    // 1. Header shape: exactly one of each (duplicates were refused by singleHeader).
    if (authorization === undefined || !isWptAuthorization(authorization.trimStart())) {
      throw new IdentityError('wpt_required', 'a WIT came without "Authorization: WPT"', { tokenKind: 'workload' })
    }
    const wpt = parseWptAuthorization(authorization)
    const witValue = singleHeader(headers, WIT_HEADER, 'workload', maxHeaderBytes)?.trim()
    if (witValue === undefined || witValue === '') {
      throw new IdentityError('wit_missing', 'an "Authorization: WPT" proof came without a Workload-Identity-Token', { tokenKind: 'workload' })
    }
    if (headers[settings.actorHeader] !== undefined) {
      throw new IdentityError('wpt_unbound', 'an actor token cannot travel with a WPT; the Txn-Token carries the user', { tokenKind: 'actor' })
    }
    const txnToken = readTxnTokenHeader(headers, settings.txnTokenHeader, maxHeaderBytes)
    const knownTxnDigest = txnToken === undefined ? undefined : this.txnDigests.get(txnToken)
    const txnTokenDigest = txnToken === undefined ? undefined : (knownTxnDigest ?? sha256Base64url(txnToken))
    const otherTokens = wimse.otherTokens.length === 0 ? NO_OTHER_TOKENS : otherTokensOf(headers, wimse.otherTokens, maxHeaderBytes)
    const now = Math.floor(nowMs / 1000)
    // 2–5. The WIT, from the cache when a fresh check would accept it too.
    const cached = this.wits.get(witValue, now, wimse.skew)
    const wit = cached ?? andThen(verifyWit(witValue, sha256Base64url(witValue), settings.trust, { maxTokenBytes, skew: wimse.skew, now, offload }), (fresh) => {
      this.wits.set(fresh)
      return fresh
    })
    return andThen(wit, (verifiedWit) => {
      // 6–9. The proof.
      const path = targetPath(target)
      const proof = verifyWpt(wpt, verifiedWit, {
        maxTokenBytes,
        now,
        skew: wimse.skew,
        maxTtl: wimse.maxWptTtl,
        offload,
        audienceMatches: (aud) => wimse.aliases.has(aud) || (path !== undefined && wimse.origins.some((origin) => aud === origin + path)),
        txnTokenDigest,
        otherTokens,
      })
      return andThen(proof, (verifiedWpt) => andThen(this.consume(verifiedWit, verifiedWpt, nowMs), () => this.withTxnToken(verifiedWit, verifiedWpt, txnToken, txnTokenDigest, knownTxnDigest !== undefined, now)))
    })
  }

  /** 10. One use per `(sub, jti)` at this service, kept until the WPT's `exp` plus the skew. */
  private consume(wit: VerifiedWit, wpt: VerifiedWpt, nowMs: number): MaybePromise<void> {
    const guard = this.settings.wptReplay as NonNullable<VerifierSettings['wptReplay']>
    let done: MaybePromise<void>
    try {
      // `iss` is the WIT's subject: the key is (callee, sub, jti).
      done = guard.check({ claims: { iss: wit.id.id, jti: wpt.jti }, exp: wpt.exp }, nowMs)
    } catch (err) {
      return renamed(err)
    }
    return done instanceof Promise ? done.then(undefined, renamed) : done
  }

  /** 11. The Txn-Token (bound by `tth` already), then the caller. */
  private withTxnToken(
    wit: VerifiedWit,
    wpt: VerifiedWpt,
    txnToken: string | undefined,
    txnDigest: string | undefined,
    digestRemembered: boolean,
    now: number,
  ): MaybePromise<WimseVerified> {
    if (txnToken === undefined) return this.assemble(wit, wpt, undefined, undefined)
    const { settings } = this
    const service = settings.trust.txnTokenService
    const base = { maxTokenBytes: settings.maxTokenBytes, tolerance: settings.tolerance, now, offload: settings.offload }
    return andThen(verifyTxnToken(txnToken, service, base), (verified) => {
      if (!digestRemembered) this.txnDigests.set(txnToken, txnDigest as string)
      const side = txnSideOf(verified, service as NonNullable<typeof service>)
      return this.assemble(wit, wpt, txnToken, { side, exp: verified.exp, digest: txnDigest as string, claims: verified.claims })
    })
  }

  private mappingOf(wit: VerifiedWit): WorkloadMapping {
    const known = this.settings.mapsWorkloadPurely ? this.mappings.get(wit) : undefined
    if (known !== undefined) return known
    const { issuer, asserted } = wit
    const attributes = asserted.attr === undefined ? Object.freeze({}) : Object.freeze({ wit: asserted.attr })
    const grant: WorkloadGrant = { selfSigned: false, roles: [...issuer.roles, ...asserted.roles], attributes }
    // Only the registered claims reach the mapping: the issuer's assertions arrive through `grant`.
    const mapped = runMapping(() => this.settings.mapWorkload(authoritativeClaims(wit.claims, undefined), wit.id.id, grant))
    if (this.settings.mapsWorkloadPurely) this.mappings.set(wit, mapped)
    return mapped
  }

  private workloadOf(wit: VerifiedWit, mapped: WorkloadMapping): VerifiedCaller['workload'] {
    const known = this.workloads.get(mapped)
    if (known !== undefined && known.wit === wit) return known.workload
    const iss = wit.claims['iss']
    const workload = deepFreeze({
      id: wit.id.id,
      trustDomain: wit.id.trustDomain,
      issuer: typeof iss === 'string' ? iss : undefined,
      roles: mapped.roles,
      selfSigned: false,
      claims: wit.claims,
    })
    this.workloads.set(mapped, { wit, workload })
    return workload
  }

  private assemble(
    wit: VerifiedWit,
    wpt: VerifiedWpt,
    txnToken: string | undefined,
    txn: { side: TxnSide; exp: number; digest: string; claims: Readonly<Record<string, unknown>> } | undefined,
  ): WimseVerified {
    let mapped: WorkloadMapping
    try {
      mapped = this.mappingOf(wit)
    } catch (err) {
      throw aboutToken(err, 'workload')
    }
    const actor: VerifiedActor | undefined = txn?.side.actor
    const expiresAt = Math.min(wit.exp, wpt.exp, txn?.exp ?? Number.POSITIVE_INFINITY) * 1000
    const caller = deepFreeze({
      workload: this.workloadOf(wit, mapped),
      actor,
      txn: txn?.side.txn,
      delegation: NO_DELEGATION,
      // The WIT's digest (already taken for the cache and `wth`): the workload credential of the call.
      tokenDigests: { workload: wit.digest, actor: txn?.digest },
      principal: this.principals.of(wit.id.id, mapped, actor, txn?.side.attr),
      expiresAt,
    })
    return { caller, txnToken, wit, txnClaims: actor === undefined ? undefined : txn?.claims }
  }
}
