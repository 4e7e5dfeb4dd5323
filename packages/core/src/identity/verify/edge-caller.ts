/**
 * The caller a guard's edge hands the pipeline: the user (or agent) the edge verifier accepted the
 * access token of. With Txn-Tokens, the guard exchanges that token at the Txn-Token Service; from then
 * on the request carries only the Txn-Token: the access token stays hidden in the edge caller and is
 * never handed to the outbound client.
 */
import { deepFreeze } from '../../internal/deep-freeze.js'
import { bareRecord } from '../../internal/own.js'
import type { Principal } from '../../types.js'
import { kActorToken, kTxnToken, type VerifiedActor, type VerifiedTxn } from '../caller.js'
import type { EdgeVerifiedUser } from './edge-verifier.js'

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
  /** The thumbprint of the key the access token is bound to (DPoP, RFC 9449), when it is bound. */
  readonly boundKey: string | undefined
}

/** One request's edge caller; the tokens sit in private fields behind symbol getters (never serialised). */
// eslint-disable-next-line @typescript-eslint/no-unsafe-declaration-merging, @typescript-eslint/no-empty-object-type -- EdgeCaller's members, assigned at once
interface EdgeCallerRecord extends EdgeCaller {}
// eslint-disable-next-line @typescript-eslint/no-unsafe-declaration-merging -- see the interface
class EdgeCallerRecord {
  readonly #accessToken: string | undefined
  readonly #txnToken: string | undefined

  constructor(parts: EdgeCaller, accessToken: string | undefined, txnToken: string | undefined) {
    Object.assign(this, parts)
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

/** The edge caller of a user the edge verifier accepted, in the transaction `transactionId`. */
export function edgeCallerOf(user: EdgeVerifiedUser, transactionId: string): EdgeCaller {
  const { actor } = user
  const attr = bareRecord()
  for (const name of Object.keys(actor.attr)) attr[name] = actor.attr[name]
  const principal: Principal = deepFreeze({ id: actor.id, roles: [...actor.roles], attr })
  const parts = { principal, actor, transactionId, txn: undefined, tokenDigests: { actor: user.tokenDigest }, expiresAt: user.expiresAt, boundKey: user.boundKey }
  return new EdgeCallerRecord(parts, user.token, undefined)
}

/**
 * The scheme a caller's access token came with: `DPoP` for a DPoP-bound token at the edge, so a
 * refusal its holder can fix (scope, step-up) challenges in the scheme the client uses.
 */
export function tokenSchemeOf(caller: unknown): 'Bearer' | 'DPoP' {
  return caller instanceof EdgeCallerRecord && caller.boundKey !== undefined ? 'DPoP' : 'Bearer'
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

