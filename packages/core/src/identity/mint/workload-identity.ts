import { ConfigError, MintError, toMeshguardError } from '../../errors.js'
import { toActClaim } from '../delegation.js'
import { sha256Base64url } from '../digest.js'
import { DEFAULT_ACTOR_HEADER, DEFAULT_TRANSACTION_HEADER, isTransactionId } from '../headers.js'
import { Lru } from '../lru.js'
import { parseSpiffeId } from '../spiffe.js'
import type { SourcedToken, WorkloadTokenSource } from './token-source.js'
import { actorTokenOf, txnTokenOf, type VerifiedCaller } from '../caller.js'
import { TXN_TOKEN_HEADER } from '../txn-wire.js'
import { outboundTxnToken } from './txn-outbound.js'

/** Options of {@link createWorkloadIdentity}. */
export interface WorkloadIdentityOptions {
  /** This service's SPIFFE ID. */
  id: string
  /** Where its workload tokens come from. */
  source: WorkloadTokenSource
  /** Re-mint when a cached token has less than this many seconds left. @defaultValue 60 */
  refreshBefore?: number | undefined
  /** Header for the actor token. @defaultValue `'x-meshguard-actor'` */
  actorHeader?: string | undefined
  /** Header for the transaction id. @defaultValue `'x-meshguard-txn'` */
  transactionHeader?: string | undefined
  /** Header for the Txn-Token. @defaultValue `'txn-token'` */
  txnTokenHeader?: string | undefined
  /** Longest `act` chain this service will mint (callee limits apply too). @defaultValue 5 */
  maxActDepth?: number | undefined
  /** Cached tokens kept (per audience, actor, chain, transaction). @defaultValue 1000 */
  cacheSize?: number | undefined
  /** Milliseconds clock. @defaultValue `Date.now` */
  clock?: (() => number) | undefined
}

/** One outbound call's identity needs. */
export interface OutboundIdentityRequest {
  /** The callee's audience (usually its SPIFFE ID). */
  audience: string
  /**
   * The inbound caller being served (from `callerContext`): its actor token is forwarded, its
   * transaction id propagated, and its workload added to the `act` chain.
   */
  caller?: VerifiedCaller | undefined
  /** An explicit actor token (background jobs acting for a user); wins over `caller`'s. */
  actor?: string | undefined
  /**
   * An explicit Txn-Token (a job's own transaction, or a replacement with a narrower scope); wins over
   * `caller`'s. With a Txn-Token no actor token is sent: the workload token is bound to the Txn-Token
   * (`txn`, `tth`) and expires no later than it.
   */
  txnToken?: string | undefined
  /** The transaction id; defaults to `caller.transactionId`. */
  transactionId?: string | undefined
  /** The target URI of this attempt (no query or fragment): a WIMSE proof's default `aud`. */
  target?: string | undefined
  /** A destination's configured WPT audience, when it overrides the target URI. */
  proofAudience?: string | undefined
  /** Values of the context-token headers the minting side binds (`oth`), by lower-case name. */
  contextTokens?: Readonly<Record<string, string>> | undefined
}

/** The minting side of a service's identity. */
export interface WorkloadIdentity {
  /** This service's SPIFFE ID. */
  readonly id: string
  /**
   * The headers for one outbound call: `authorization: Bearer <workload token for the callee>`, the
   * actor token as received, and the transaction id. Tokens are cached per (audience, actor, chain,
   * transaction) until `refreshBefore` seconds before expiry.
   *
   * @throws MintError before anything is sent (e.g. `actor_expired`, `act_too_deep`, `signing_failed`,
   *   `token_endpoint_unavailable`)
   */
  headersFor(request: OutboundIdentityRequest): Promise<Record<string, string>>
}

/**
 * Creates the minting side of a service's identity.
 *
 * @example
 * ```ts
 * const identity = createWorkloadIdentity({
 *   id: 'spiffe://example.org/ns/hr/sa/employee-service',
 *   source: selfSignedTokenSource({ key: { file: '/etc/keys/employee.pem' }, kid: 'employee-2026-11' }),
 * })
 * const headers = await identity.headersFor({ audience: reviewServiceId, caller: callerContext.current() })
 * ```
 */
export function createWorkloadIdentity(options: WorkloadIdentityOptions): WorkloadIdentity {
  if (typeof options !== 'object' || (options as unknown) === null) throw new ConfigError('identity', 'must be an object')
  let id: string
  try {
    id = parseSpiffeId(options.id).id
  } catch (err) {
    throw new ConfigError('identity.id', 'must be a SPIFFE ID', { cause: err })
  }
  const source = options.source
  if (typeof (source as typeof source | undefined)?.token !== 'function') throw new ConfigError('identity.source', 'must be a workload token source')
  const refreshBeforeMs = (options.refreshBefore ?? 60) * 1000
  if (!Number.isFinite(refreshBeforeMs) || refreshBeforeMs < 0) {
    throw new ConfigError('identity.refreshBefore', 'must be a non-negative number of seconds')
  }
  const actorHeader = (options.actorHeader ?? DEFAULT_ACTOR_HEADER).toLowerCase()
  const transactionHeader = (options.transactionHeader ?? DEFAULT_TRANSACTION_HEADER).toLowerCase()
  const txnTokenHeader = (options.txnTokenHeader ?? TXN_TOKEN_HEADER).toLowerCase()
  const maxActDepth = options.maxActDepth ?? 5
  const clock = options.clock ?? Date.now
  const cache = new Lru<string, SourcedToken>(options.cacheSize ?? 1000)
  const inflight = new Map<string, Promise<SourcedToken>>()

  async function tokenFor(key: string, mint: () => Promise<SourcedToken>): Promise<SourcedToken> {
    const cached = cache.get(key)
    if (cached !== undefined && cached.expiresAt - refreshBeforeMs > clock()) return cached
    let pending = inflight.get(key)
    if (pending === undefined) {
      pending = mint().finally(() => inflight.delete(key))
      inflight.set(key, pending)
    }
    const fresh = await pending
    cache.set(key, fresh)
    return fresh
  }

  async function headersFor(request: OutboundIdentityRequest): Promise<Record<string, string>> {
    if (typeof (request as typeof request | undefined)?.audience !== 'string' || request.audience === '') {
      throw new MintError('audience_invalid', 'an outbound call needs the callee audience')
    }
    const { audience, caller } = request
    const now = clock()
    const txnToken = request.txnToken ?? (caller === undefined ? undefined : txnTokenOf(caller))
    // A Txn-Token replaces the access token on inner hops: never send both.
    const actor = txnToken !== undefined ? undefined : (request.actor ?? (caller === undefined ? undefined : actorTokenOf(caller)))
    const txn = txnToken === undefined ? undefined : outboundTxnToken(txnToken, request.txnToken === undefined ? caller?.txn : undefined, now)
    // Never forward a user token past its verified lifetime (e.g. from a job that outlived the request).
    if (request.actor === undefined && caller !== undefined && actor !== undefined && now >= caller.expiresAt) {
      throw new MintError('actor_expired', 'the actor token of the request being served has expired')
    }
    const chain = caller === undefined ? [] : [caller.workload.id, ...caller.delegation.workloads]
    if (chain.length > maxActDepth) throw new MintError('act_too_deep', 'delegation chain would exceed its limit')
    const transactionId = txn?.id ?? request.transactionId ?? caller?.transactionId
    if (transactionId !== undefined && !isTransactionId(transactionId)) {
      throw new MintError('txn_invalid', 'transaction id is malformed')
    }
    if (txn !== undefined && request.transactionId !== undefined && request.transactionId !== txn.id) {
      throw new MintError('txn_invalid', 'the transaction id differs from the Txn-Token "txn"')
    }
    if (txn !== undefined && !source.binds) {
      throw new MintError('txn_token_unbindable', 'this workload token source cannot bind a Txn-Token (use selfSignedTokenSource)')
    }
    const actorDigest = actor === undefined ? undefined : sha256Base64url(actor)
    const txnTokenDigest = txn?.digest
    const key = source.binds ? JSON.stringify([audience, actorDigest ?? '', chain, transactionId ?? '', txnTokenDigest ?? '']) : audience
    let sourced: SourcedToken
    try {
      sourced = await tokenFor(key, () =>
        source.token({ id, audience, actorDigest, act: toActClaim(chain), transactionId, txnTokenDigest, notAfter: txn?.expiresAt, now: clock() }),
      )
    } catch (err) {
      const error = toMeshguardError(err)
      if (error instanceof MintError) throw error
      throw new MintError('token_source_failed', 'workload token could not be obtained', { cause: err })
    }
    const headers: Record<string, string> = { authorization: `Bearer ${sourced.token}` }
    if (actor !== undefined) headers[actorHeader] = actor
    if (txnToken !== undefined) headers[txnTokenHeader] = txnToken
    if (transactionId !== undefined) headers[transactionHeader] = transactionId
    return headers
  }

  return { id, headersFor }
}
