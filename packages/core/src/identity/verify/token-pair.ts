/**
 * Verifies one workload + actor token pair, step by step: the workload token, its chain and `txn`,
 * the `ath` binding, the workload mapping (authority-asserted claims only), the actor token, its
 * issued-to check, and the frozen result.
 */
import { deepFreeze } from '../../internal/deep-freeze.js'
import { IdentityError } from '../../errors.js'
import type { MaybePromise } from '../../internal/maybe-async.js'
import { type ActorSide, ActorSides } from './actor-side.js'
import { checkActorBinding, checkActorIssuedTo } from './binding.js'
import { walkActChain } from '../delegation.js'
import { sha256Base64url } from '../digest.js'
import { isTransactionId } from '../headers.js'
import { checkNoTxnTokenBinding, checkTxnTokenHash, checkTxnTokenTransaction } from './txn-binding.js'
import { txnSideOf, type TxnSide } from './txn-side.js'
import { asTxnTokenFailure, verifyTxnToken, type VerifiedTxnToken } from './txn-token.js'
import { authoritativeClaims, runMapping } from './principal.js'
import { PrincipalMemo } from './principal-memo.js'
import { aboutToken, andThenAbout } from './token-kind.js'
import { TokenMemo, tokenKey } from './token-memo.js'
import type { Delegation, VerifiedActor, VerifiedCaller } from '../caller.js'
import type { WorkloadGrant, WorkloadMapping } from './types.js'
import type { VerifierSettings } from './verifier-settings.js'
import {
  verifyActorToken,
  verifyWorkloadToken,
  type SlotLimits,
  type VerifiedActorToken,
  type VerifiedWorkloadToken,
} from './verify-token.js'

/** What a verification yields: everything except the per-request transaction id. */
export interface Verified {
  readonly caller: Omit<VerifiedCaller, 'transactionId'>
  /** The `txn` the workload token carries, if any. */
  readonly tokenTxn: string | undefined
  /** The actor credential as received: an access token, or a Txn-Token when `txnToken` is true. */
  readonly actorToken: string | undefined
  /** Whether the actor credential is a Txn-Token. */
  readonly txnToken: boolean
  readonly workloadToken: string
  /** What a cached answer re-checks: the tokens' time rules and keys. */
  readonly workload: VerifiedWorkloadToken
  readonly actor: VerifiedActorToken | VerifiedTxnToken | undefined
}

/** Actor-token digests remembered per verifier. */
const ACTOR_DIGESTS = 512

/** No chain: what a self-signed workload token proves about earlier hops. */
const NO_CHAIN: readonly string[] = Object.freeze([])

/** A direct call with no actor: the delegation of most service-to-service calls. */
const NO_DELEGATION: Delegation = deepFreeze({ workloads: [], actorChain: [] })

/**
 * Direct calls (no earlier workloads) share one frozen delegation per actor chain, so the audit
 * record's hops, built once per delegation object, are not rebuilt for every new workload token
 * of the same session.
 */
const directDelegations = new WeakMap<readonly string[], Delegation>()

function delegationOf(workloads: string[], actorChain: string[]): Delegation {
  if (workloads.length > 0) return { workloads, actorChain }
  if (actorChain.length === 0) return NO_DELEGATION
  // Only a frozen chain (the default mapping's, shared per actor token) can be shared safely.
  if (!Object.isFrozen(actorChain)) return { workloads, actorChain }
  let delegation = directDelegations.get(actorChain)
  if (delegation === undefined) {
    delegation = Object.freeze({ workloads: Object.freeze([]) as unknown as string[], actorChain })
    directDelegations.set(actorChain, delegation)
  }
  return delegation
}

/** What the workload token's checks established, handed to the actor-credential step. */
interface PairParts {
  workload: VerifiedWorkloadToken
  workloadToken: string
  workloadChain: string[]
  tokenTxn: string | undefined
  mappedWorkload: WorkloadMapping
  actorDigest: string | undefined
  selfSigned: boolean
}

/** One verifier's token-pair verification, with the memos it keeps across requests. */
export class TokenPairVerifier {
  // sha256 of actor tokens that verified: a session's token comes back with every new workload token.
  private readonly actorDigests = new TokenMemo<string>(ACTOR_DIGESTS)
  private readonly actors: ActorSides
  private readonly principals = new PrincipalMemo()

  constructor(private readonly settings: VerifierSettings) {
    this.actors = new ActorSides(settings)
  }

  /** Verifies both tokens; answers now when the keys are at hand (no promise on the fresh-token path). */
  verify(workloadToken: string, actorToken: string | undefined, nowMs: number, txnToken = false): MaybePromise<Verified> {
    const { trust, maxTokenBytes, tolerance, offload, audiences, audienceMode, maxWorkloadLifetime } = this.settings
    const base: SlotLimits = { maxTokenBytes, tolerance, now: Math.floor(nowMs / 1000), offload }
    let workload: MaybePromise<VerifiedWorkloadToken>
    try {
      workload = verifyWorkloadToken(workloadToken, trust, {
        ...base,
        audience: audiences,
        audienceMode,
        maxLifetime: maxWorkloadLifetime,
      })
    } catch (err) {
      throw aboutToken(err, 'workload')
    }
    return andThenAbout('workload', workload, (verified) => this.afterWorkload(verified, workloadToken, actorToken, base, txnToken))
  }

  private afterWorkload(
    workload: VerifiedWorkloadToken,
    workloadToken: string,
    actorToken: string | undefined,
    base: SlotLimits,
    txnToken: boolean,
  ): MaybePromise<Verified> {
    const { maxActDepth, mapWorkload, trust } = this.settings
    const { actorDigests } = this
    // The checks run in a fixed order; each failure is marked with the token it is about.
    let workloadChain: string[]
    let tokenTxn: unknown
    try {
      workloadChain = walkActChain(workload.claims['act'], maxActDepth, true)
      tokenTxn = workload.claims['txn']
      if (tokenTxn !== undefined && !isTransactionId(tokenTxn)) throw new IdentityError('txn_invalid', 'token "txn" is malformed')
    } catch (err) {
      throw aboutToken(err, 'workload')
    }

    const digestKey = actorToken === undefined ? 0 : tokenKey(actorToken)
    const knownDigest = actorToken === undefined ? undefined : actorDigests.get(actorToken, digestKey)
    const actorDigest = actorToken === undefined ? undefined : (knownDigest ?? sha256Base64url(actorToken))
    try {
      if (txnToken) checkTxnTokenHash(workload.claims, actorDigest as string)
      else {
        checkNoTxnTokenBinding(workload.claims)
        // A missing or different actor token is what fails the workload token's `ath` binding.
        checkActorBinding(workload.claims['ath'], actorDigest, workload.anchor.requireActorBinding)
      }
    } catch (err) {
      throw aboutToken(err, 'actor')
    }

    // Only what an authority asserted reaches the mapping: a workload's word about itself grants nothing.
    const { anchor } = workload
    const selfSigned = anchor.selfSigned || workload.claims['iss'] === workload.claims['sub']
    const grant: WorkloadGrant = { selfSigned, roles: anchor.roles, attributes: anchor.attributes }
    let mappedWorkload: WorkloadMapping
    try {
      const asserted = authoritativeClaims(workload.claims, selfSigned ? undefined : anchor.authoritativeClaims)
      mappedWorkload = runMapping(() => mapWorkload(asserted, workload.id.id, grant))
    } catch (err) {
      throw aboutToken(err, 'workload')
    }
    // The chain a workload writes into its own token is no evidence of where an actor token came from.
    const provenChain = !selfSigned && anchor.authoritativeClaims?.has('act') === true ? workloadChain : NO_CHAIN
    const parts = { workload, workloadToken, workloadChain, tokenTxn: tokenTxn, mappedWorkload, actorDigest, selfSigned }
    if (actorToken === undefined) return this.assemble(parts, undefined, [])
    if (txnToken) return this.withTxnToken(parts, actorToken, base, () => {
      if (knownDigest === undefined) actorDigests.set(actorToken, actorDigest as string, digestKey)
    })
    let actor: MaybePromise<VerifiedActorToken>
    try {
      actor = verifyActorToken(actorToken, trust, base)
    } catch (err) {
      throw aboutToken(err, 'actor')
    }
    return andThenAbout('actor', actor, (verifiedActor) => {
      if (knownDigest === undefined) actorDigests.set(actorToken, actorDigest as string, digestKey)
      let side: ActorSide
      try {
        // A sender-constrained token passes the mesh only bound (`ath`) to the workload token that carries it.
        if (verifiedActor.claims['cnf'] !== undefined && !workload.anchor.requireActorBinding) {
          throw new IdentityError('actor_binding_mismatch', 'a sender-constrained actor token must be bound (ath) to the workload token')
        }
        side = this.actors.of(verifiedActor)
        checkActorIssuedTo(side.actorChain, workload.id.id, provenChain)
      } catch (err) {
        throw aboutToken(err, 'actor')
      }
      return this.assemble(parts, { actor: side.actor, token: actorToken, verified: verifiedActor }, side.actorChain)
    })
  }

  /** The Txn-Token branch: verify it as the TTS's, check it names the workload token's transaction, map it. */
  private withTxnToken(parts: PairParts, token: string, base: SlotLimits, verifiedHook: () => void): MaybePromise<Verified> {
    const service = this.settings.trust.txnTokenService
    return andThenAbout('actor', verifyTxnToken(token, service, base), (verified) => {
      let side: TxnSide
      try {
        checkTxnTokenTransaction(parts.tokenTxn, verified.txn)
        side = txnSideOf(verified, service as NonNullable<typeof service>)
      } catch (err) {
        throw asTxnTokenFailure(err)
      }
      verifiedHook()
      const actor = side.actor === undefined ? undefined : { actor: side.actor, token, verified }
      return this.assemble(parts, actor, [], { side, token, verified })
    })
  }

  /** The frozen verification of a token pair. */
  private assemble(
    parts: PairParts,
    verifiedActor: { actor: VerifiedActor; token: string; verified: VerifiedActorToken | VerifiedTxnToken } | undefined,
    actorChain: string[],
    txn?: { side: TxnSide; token: string; verified: VerifiedTxnToken },
  ): Verified {
    const { workload, workloadToken, mappedWorkload } = parts
    const actor = verifiedActor?.actor
    const credential = txn ?? verifiedActor
    const workloadExp = workload.exp * 1000
    const caller = deepFreeze({
      workload: {
        id: workload.id.id,
        trustDomain: workload.id.trustDomain,
        issuer: typeof workload.claims['iss'] === 'string' ? workload.claims['iss'] : undefined,
        roles: mappedWorkload.roles,
        selfSigned: parts.selfSigned,
        claims: workload.claims,
      },
      actor,
      txn: txn?.side.txn,
      delegation: delegationOf(parts.workloadChain, actorChain),
      tokenDigests: { workload: sha256Base64url(workloadToken), actor: parts.actorDigest },
      principal: this.principals.of(workload.id.id, mappedWorkload, actor, txn?.side.attr),
      expiresAt: credential === undefined ? workloadExp : Math.min(workloadExp, credential.verified.exp * 1000),
    })
    const actorToken = credential?.token
    return { caller, tokenTxn: parts.tokenTxn, actorToken, txnToken: txn !== undefined, workloadToken, workload, actor: credential?.verified }
  }
}
