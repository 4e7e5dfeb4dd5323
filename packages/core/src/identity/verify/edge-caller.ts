/**
 * The edge (gateway) side of Txn-Tokens: the external caller presents the user's (or agent's) access
 * token as `Authorization: Bearer`; the edge verifies it against the trusted IdPs, and the guard
 * exchanges it at the Txn-Token Service. From then on the request carries only the Txn-Token: the
 * access token stays hidden in the edge caller and is never handed to the outbound client.
 */
import { deepFreeze } from '../../internal/deep-freeze.js'
import { IdentityMissingError } from '../../errors.js'
import { andThen, type MaybePromise } from '../../internal/maybe-async.js'
import { bareRecord } from '../../internal/own.js'
import { newRequestId } from '../../internal/request-id.js'
import type { Principal } from '../../types.js'
import { kActorToken, kTxnToken, type VerifiedActor, type VerifiedTxn } from '../caller.js'
import { sha256Base64url } from '../digest.js'
import { parseBearer, singleHeader, type HeaderView } from '../headers.js'
import type { TrustBundle } from '../trust/trust-bundle.js'
import type { TrustBundleOptions } from '../trust/types.js'
import { ActorSides } from './actor-side.js'
import { aboutToken } from './token-kind.js'
import type { ClaimMappingOptions, VerifyCallOptions } from './types.js'
import { resolveVerifierSettings } from './verifier-settings.js'
import { verifyActorToken } from './verify-token.js'

/** What the edge needs of a Txn-Token the Txn-Token Service issued (the minting side's `IssuedTxnToken`). */
export interface IssuedTxnTokenFacts {
  /** The compact Txn-Token. */
  readonly token: string
  /** Its `txn`. */
  readonly txn: string
  /** Its `scope`, split. */
  readonly scope: readonly string[]
  /** Its `exp` in epoch ms. */
  readonly expiresAt: number
}

/** Options of {@link createAccessTokenVerifier}. */
export interface AccessTokenVerifierOptions {
  /** The IdPs whose access tokens the edge accepts: a bundle (or its options) whose `actors` list them. */
  trust: TrustBundle | TrustBundleOptions
  /** Clock skew on `exp`, `nbf`, `iat`, at most 60. @defaultValue 30 */
  clockTolerance?: number | undefined
  /** Maximum size of the access token. @defaultValue 8192 */
  maxTokenBytes?: number | undefined
  /** Claim → role/attribute mapping of the user (as for actor tokens). */
  claims?: ClaimMappingOptions | undefined
  /** Milliseconds clock. @defaultValue `Date.now` */
  clock?: (() => number) | undefined
}

/** The caller at the edge: the user the access token names, and later the Txn-Token obtained for it. */
export interface EdgeCaller {
  /** The principal for an edge policy: the user (`id`, `roles`, `attr`). */
  readonly principal: Principal
  readonly actor: VerifiedActor
  /** The transaction: the Txn-Token's `txn` once one was obtained. */
  readonly transactionId: string
  /** The Txn-Token obtained for the route's purpose, once the guard exchanged the access token. */
  readonly txn: VerifiedTxn | undefined
  readonly tokenDigests: { readonly actor: string }
  /** When the access token (or the Txn-Token, once obtained) expires, epoch ms. */
  readonly expiresAt: number
}

/** One request's edge caller; the tokens sit in private fields behind symbol getters (never serialised). */
class EdgeCallerRecord implements EdgeCaller {
  readonly principal: Principal
  readonly actor: VerifiedActor
  readonly transactionId: string
  readonly txn: VerifiedTxn | undefined
  readonly tokenDigests: { readonly actor: string }
  readonly expiresAt: number
  readonly #accessToken: string | undefined
  readonly #txnToken: string | undefined

  constructor(parts: Omit<EdgeCaller, 'txn'> & { txn?: VerifiedTxn | undefined }, accessToken: string | undefined, txnToken: string | undefined) {
    this.principal = parts.principal
    this.actor = parts.actor
    this.transactionId = parts.transactionId
    this.txn = parts.txn
    this.tokenDigests = parts.tokenDigests
    this.expiresAt = parts.expiresAt
    this.#accessToken = accessToken
    this.#txnToken = txnToken
  }

  /** The access token, only until a Txn-Token replaced it: nothing can forward it after that. */
  get [kActorToken](): string | undefined {
    return #accessToken in this ? this.#accessToken : undefined
  }

  get [kTxnToken](): string | undefined {
    return #txnToken in this ? this.#txnToken : undefined
  }
}

/** The access token an edge caller still holds (before the exchange), for the exchange only. */
export function edgeAccessTokenOf(caller: unknown): string | undefined {
  return caller instanceof EdgeCallerRecord ? caller[kActorToken] : undefined
}

/** Whether a caller is an edge caller. */
export function isEdgeCaller(caller: unknown): caller is EdgeCaller {
  return caller instanceof EdgeCallerRecord
}

/**
 * The edge caller once the Txn-Token Service issued `issued`: it carries the Txn-Token and no longer
 * the access token, so outbound calls can only forward the Txn-Token.
 */
export function withIssuedTxnToken(caller: EdgeCaller, issued: IssuedTxnTokenFacts, requestingWorkload: string): EdgeCaller {
  const txn: VerifiedTxn = deepFreeze({
    id: issued.txn,
    subject: caller.actor.id,
    scope: [...issued.scope],
    requestingWorkload,
    rctx: bareRecord(),
    tctx: bareRecord(),
    issuedAt: Math.floor(Date.now() / 1000),
    expiresAt: Math.floor(issued.expiresAt / 1000),
  })
  const parts = { ...caller, txn, transactionId: issued.txn, expiresAt: Math.min(caller.expiresAt, issued.expiresAt) }
  return new EdgeCallerRecord(parts, undefined, issued.token)
}

/** Verifies external access tokens at the edge. */
export interface AccessTokenVerifier {
  /** @throws IdentityMissingError, IdentityError (401), UnavailableError (503) */
  verify(headers: HeaderView, options?: VerifyCallOptions): Promise<EdgeCaller>
  /** {@link AccessTokenVerifier.verify}, synchronously when the keys are at hand. */
  verifyNow(headers: HeaderView, options?: VerifyCallOptions): EdgeCaller | Promise<EdgeCaller>
}

/**
 * Creates the edge's access-token verifier: `Authorization: Bearer <access token>` from one of the
 * trusted IdPs, with the checks actor tokens get at inner hops (issuer, `typ`, alg, key, signature,
 * times, audience). Use it as the guard's `identity` at the edge, with the guard's `edge` option.
 *
 * @throws ConfigError for bad options
 */
export function createAccessTokenVerifier(options: AccessTokenVerifierOptions): AccessTokenVerifier {
  // The edge has no workload audience of its own: the access token's audiences are the IdP's.
  const settings = resolveVerifierSettings({ audience: 'edge', ...options, cacheSize: 0 })
  const actors = new ActorSides(settings)
  const { trust, maxHeaderBytes, maxTokenBytes, tolerance, offload, clock } = settings

  function verifyNow(headers: HeaderView, callOptions: VerifyCallOptions = {}): MaybePromise<EdgeCaller> {
    if (typeof headers !== 'object' || headers === null) throw new IdentityMissingError('no credentials', { tokenKind: 'actor' })
    const token = parseBearer(singleHeader(headers, 'authorization', 'actor', maxHeaderBytes))
    if (token === undefined) throw new IdentityMissingError('access token required', { tokenKind: 'actor' })
    const now = clock()
    let verified
    try {
      verified = verifyActorToken(token, trust, { maxTokenBytes, tolerance, now: Math.floor(now / 1000), offload })
    } catch (err) {
      throw aboutToken(err, 'actor')
    }
    return andThen(verified, (actorToken) => {
      const { actor } = actors.of(actorToken)
      const attr = bareRecord()
      for (const name of Object.keys(actor.attr)) attr[name] = actor.attr[name]
      const principal: Principal = deepFreeze({ id: actor.id, roles: [...actor.roles], attr })
      const parts = {
        principal,
        actor,
        transactionId: callOptions.newTransactionId ?? newRequestId(),
        tokenDigests: { actor: sha256Base64url(token) },
        expiresAt: actorToken.exp * 1000,
      }
      return new EdgeCallerRecord(parts, token, undefined)
    })
  }

  return {
    verify: async (headers, callOptions) => {
      try {
        return await verifyNow(headers, callOptions)
      } catch (err) {
        throw aboutToken(err, 'actor')
      }
    },
    verifyNow: (headers, callOptions) => {
      const result = verifyNow(headers, callOptions)
      return result instanceof Promise ? result.catch((err: unknown) => Promise.reject(aboutToken(err, 'actor'))) : result
    },
  }
}
