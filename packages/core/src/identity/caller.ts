/**
 * The verified caller: what verification hands the pipeline and what minting forwards from. Shared
 * by every side of identity.
 */
import type { Principal } from '../types.js'

/** What kind of actor a token stands for. */
export type ActorType = 'user' | 'agent'

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
  /** Digest of the actor token (or Txn-Token), when one came (equals the workload token's `ath`, or `tth`). */
  actor?: string | undefined
}

/**
 * What a verified Txn-Token says about the transaction. The Txn-Token Service is the authority for
 * every field; policies see it as `request.principal.attr.txn` (`id`, `scope`, `req_wl`, `rctx`, `tctx`).
 */
export interface VerifiedTxn {
  /** The transaction id (`txn`), also the caller's `transactionId`. */
  readonly id: string
  /** The principal the transaction runs for (`sub`): a user, or a workload for internal transactions. */
  readonly subject: string
  /** The purpose (`scope`), split on spaces. */
  readonly scope: readonly string[]
  /** The workload that requested the Txn-Token (`req_wl`), e.g. the gateway. */
  readonly requestingWorkload: string
  /** The request environment the TTS recorded (`rctx`). */
  readonly rctx: Readonly<Record<string, unknown>>
  /** Values fixed for the whole call chain (`tctx`). */
  readonly tctx: Readonly<Record<string, unknown>>
  /** `iat` and `exp`, seconds. */
  readonly issuedAt: number
  readonly expiresAt: number
}

/** The outcome of a successful verification. */
export interface VerifiedCaller {
  /** Who is calling. */
  workload: VerifiedWorkload
  /** On whose behalf, when an actor token (or a Txn-Token with a user subject) came. */
  actor?: VerifiedActor | undefined
  /** The transaction, when a Txn-Token came (also `principal.attr.txn`). */
  txn?: VerifiedTxn | undefined
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

/**
 * The raw actor token on a {@link VerifiedCaller}: a getter under this symbol on the caller's
 * prototype (the token itself is private), so the outbound client can forward it while
 * `JSON.stringify`, spreading and loggers never see it.
 */
export const kActorToken: unique symbol = Symbol.for('@meshguard/identity.actorToken')

/** The raw actor token a caller arrived with (to forward it unchanged), if any. */
export function actorTokenOf(caller: VerifiedCaller): string | undefined {
  return (caller as { [kActorToken]?: string })[kActorToken]
}

/**
 * The raw Txn-Token on a {@link VerifiedCaller}, hidden like the actor token (a symbol getter on the
 * prototype), so the outbound client forwards it unchanged while logs never see it.
 */
export const kTxnToken: unique symbol = Symbol.for('@meshguard/identity.txnToken')

/** The raw Txn-Token a caller arrived with (to forward it unchanged), if any. */
export function txnTokenOf(caller: VerifiedCaller): string | undefined {
  return (caller as { [kTxnToken]?: string })[kTxnToken]
}
