/**
 * What a verified Txn-Token stands for: the transaction (`attr.txn` of the principal) and, when its
 * subject is a user or agent, the actor (`attr.act.user`). The Txn-Token Service is the authority: the
 * user's roles and attributes come from its `tctx.user = { roles, attr }`, never from the caller.
 */
import { deepFreeze } from '../../internal/deep-freeze.js'
import { bareRecord } from '../../internal/own.js'
import type { VerifiedActor, VerifiedTxn } from '../caller.js'
import { isSpiffeId } from '../spiffe.js'
import type { ResolvedTxnTokenService } from '../trust/trust-bundle.js'
import { AI_AGENT_TYPE } from './principal.js'
import type { VerifiedTxnToken } from './txn-token.js'

/** The transaction and actor of one Txn-Token, frozen and shared by every request carrying it. */
export interface TxnSide {
  readonly txn: VerifiedTxn
  /** `request.principal.attr.txn`: `{ id, scope, req_wl, rctx, tctx }`. */
  readonly attr: Readonly<Record<string, unknown>>
  /** The user or agent; undefined for a transaction a workload started for itself. */
  readonly actor: VerifiedActor | undefined
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/** Own entries of a JSON object, in a prototype-less copy. */
function ownCopy(value: unknown): Record<string, unknown> {
  const out = bareRecord()
  if (isPlainObject(value)) for (const name of Object.keys(value)) out[name] = value[name]
  return out
}

function scopeList(scope: string): string[] {
  return scope.split(' ').filter((s) => s.length > 0)
}

/** The actor of a Txn-Token: its user `sub`, with roles and attributes from `tctx.user`. */
function actorOf(claims: Readonly<Record<string, unknown>>, tctx: Record<string, unknown>, issuer: string): VerifiedActor | undefined {
  const sub = claims['sub'] as string
  const user = tctx['user']
  // A workload's own transaction (a job's `self_signed` subject) has no user behind it.
  if (!isPlainObject(user) && isSpiffeId(sub)) return undefined
  const granted = isPlainObject(user) ? user : bareRecord()
  const roles = Array.isArray(granted['roles']) ? granted['roles'].filter((r): r is string => typeof r === 'string') : []
  const attr = ownCopy(granted['attr'])
  const type = attr['type'] === AI_AGENT_TYPE ? 'agent' : 'user'
  return { id: sub, type, roles, attr, issuer, claims }
}

/** One side per frozen claims object (Txn-Token parses are remembered and frozen). */
const sides = new WeakMap<object, TxnSide>()

/** The transaction and actor of a verified Txn-Token. */
export function txnSideOf(token: VerifiedTxnToken, service: ResolvedTxnTokenService): TxnSide {
  const { claims } = token
  const known = sides.get(claims)
  if (known !== undefined) return known
  const tctx = ownCopy(claims['tctx'])
  const rctx = ownCopy(claims['rctx'])
  const scope = scopeList(claims['scope'] as string)
  const requestingWorkload = claims['req_wl'] as string
  const txn: VerifiedTxn = {
    id: token.txn,
    subject: claims['sub'] as string,
    scope,
    requestingWorkload,
    rctx,
    tctx,
    issuedAt: claims['iat'] as number,
    expiresAt: token.exp,
  }
  const attr = bareRecord()
  attr['id'] = token.txn
  attr['scope'] = scope
  attr['req_wl'] = requestingWorkload
  attr['rctx'] = rctx
  attr['tctx'] = tctx
  const issuer = typeof claims['iss'] === 'string' ? claims['iss'] : service.trustDomain
  const side: TxnSide = deepFreeze({ txn, attr, actor: actorOf(claims, tctx, issuer) })
  if (Object.isFrozen(claims)) sides.set(claims, side)
  return side
}
