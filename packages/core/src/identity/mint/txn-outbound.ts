/** The Txn-Token an outbound call forwards: what the minting side needs to bind a workload token to it. */
import { MintError } from '../../errors.js'
import type { VerifiedTxn } from '../caller.js'
import { sha256Base64url } from '../digest.js'
import { Lru } from '../lru.js'
import { unverifiedPayload } from './token-payload.js'

/** What binding a workload token to a Txn-Token takes. */
export interface OutboundTxnToken {
  /** The Txn-Token's `txn`: the workload token's `txn`. */
  readonly id: string
  /** base64url(sha256(Txn-Token)): the workload token's `tth`. */
  readonly digest: string
  /** When the Txn-Token expires (epoch ms): the workload token must not outlive it. */
  readonly expiresAt: number
}

/** Txn-Tokens larger than this are not forwarded (receivers refuse them too). */
const MAX_TXN_TOKEN_BYTES = 16_384

/**
 * Binding facts by exact token: a transaction's Txn-Token is forwarded on every outbound call of its
 * requests. A pure function of the token; the expiry check still runs on every call.
 */
const known = new Lru<string, OutboundTxnToken>(256)

/**
 * The binding facts of a Txn-Token about to be forwarded. A token this service verified supplies them
 * (`verified`); one handed in explicitly (a job's own, or a replacement from the TTS) is read here,
 * unverified: the sender only copies `txn` and `exp`, and the callee verifies everything.
 *
 * @throws MintError `txn_token_expired` past its expiry, `txn_token_invalid` when it cannot be read
 */
export function outboundTxnToken(token: string, verified: VerifiedTxn | undefined, nowMs: number): OutboundTxnToken {
  const remembered = known.get(token)
  if (remembered !== undefined) {
    if (nowMs >= remembered.expiresAt) throw new MintError('txn_token_expired', 'the Txn-Token to forward has expired')
    return remembered
  }
  let id: string
  let exp: number
  if (verified !== undefined) {
    id = verified.id
    exp = verified.expiresAt
  } else {
    const payload = unverifiedPayload(token, MAX_TXN_TOKEN_BYTES)
    if (payload === undefined) throw new MintError('txn_token_invalid', 'the Txn-Token to forward is not a compact JWS')
    const txn = payload['txn']
    const expClaim = payload['exp']
    if (typeof txn !== 'string' || typeof expClaim !== 'number' || !Number.isFinite(expClaim)) {
      throw new MintError('txn_token_invalid', 'the Txn-Token to forward has no "txn" or "exp"')
    }
    id = txn
    exp = expClaim
  }
  // Never forward a Txn-Token past its lifetime (a job that outlived its request, a stale replacement).
  if (nowMs >= exp * 1000) throw new MintError('txn_token_expired', 'the Txn-Token to forward has expired')
  const facts: OutboundTxnToken = Object.freeze({ id, digest: sha256Base64url(token), expiresAt: exp * 1000 })
  known.set(token, facts)
  return facts
}
