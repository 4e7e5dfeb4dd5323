/**
 * Edge (gateway) mode: once the external access token is verified, the guard asks the Txn-Token
 * Service for a Txn-Token for the route's declared purpose (`scope`), and the request carries only
 * that Txn-Token from then on. A refusal is a 403 (`txn_token_denied`), a TTS that is down or slow a
 * 503; the access token is never forwarded instead.
 */
import { ConfigError } from '../errors.js'
import { edgeAccessTokenOf, isEdgeCaller, withIssuedTxnToken, type EdgeCaller } from '../identity/verify/edge-caller.js'
import type { EdgeOptions, RequestView } from './types.js'
import { IdentityMissingError } from '../errors.js'

/** Validates the `edge` option once. */
export function checkEdgeOptions(edge: EdgeOptions | undefined): void {
  if (edge === undefined) return
  if (typeof edge !== 'object' || edge === null || typeof edge.txnTokens?.exchange !== 'function') {
    throw new ConfigError('edge.txnTokens', 'must be a Txn-Token exchange (createTxnTokenExchange)')
  }
  for (const hook of ['requestContext', 'requestDetails'] as const) {
    if (edge[hook] !== undefined && typeof edge[hook] !== 'function') throw new ConfigError(`edge.${hook}`, 'must be a function of the request view')
  }
}

/** Whether this caller still needs its Txn-Token (an edge caller that has none yet). */
export function needsExchange(caller: unknown): caller is EdgeCaller {
  return isEdgeCaller(caller) && caller.txn === undefined
}

/**
 * Exchanges the edge caller's access token for a Txn-Token for `scope`.
 *
 * @throws DeniedError `txn_token_denied`, UnavailableError `txn_token_service_unavailable`
 */
export async function exchangeAtEdge(edge: EdgeOptions, caller: EdgeCaller, view: RequestView<unknown>, scope: readonly string[]): Promise<EdgeCaller> {
  const subjectToken = edgeAccessTokenOf(caller)
  if (subjectToken === undefined) throw new IdentityMissingError('no access token to exchange', { tokenKind: 'actor' })
  const issued = await edge.txnTokens.exchange({
    subjectToken,
    subjectTokenType: 'access_token',
    scope,
    requestContext: edge.requestContext?.(view),
    requestDetails: edge.requestDetails?.(view),
  })
  return withIssuedTxnToken(caller, issued, edge.txnTokens.clientId)
}
