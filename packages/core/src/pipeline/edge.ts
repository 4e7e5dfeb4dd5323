/**
 * The guard at the edge (gateway): requests arrive with a user's (or agent's) access token, `Bearer`
 * or DPoP-bound, and the one edge verifier (`createEdgeVerifier`, built here from the guard's `edge`
 * options) checks it: issuers, discovery and families, DPoP proofs, introspection, revocation. With
 * Txn-Tokens configured, the guard then asks the Txn-Token Service for a Txn-Token for the route's
 * declared purpose (`scope`), and the request carries only that Txn-Token from then on. A refusal is a
 * 403 (`txn_token_denied`), a TTS that is down or slow a 503; the access token is never forwarded
 * instead.
 */
import { ConfigError, IdentityError, IdentityMissingError, InternalError } from '../errors.js'
import type { ActorRequirement } from '../identity/verify/types.js'
import { edgeAccessTokenOf, edgeCallerOf, isEdgeCaller, withIssuedTxnToken, type EdgeCaller } from '../identity/verify/edge-caller.js'
import { createEdgeVerifier, type EdgeVerifier } from '../identity/verify/edge-verifier.js'
import type { EdgeOptions, RequestView } from './types.js'

/** Where the request target's path starts being resolved (any origin would do: only the path is kept). */
const PATH_BASE = 'http://path.invalid'

/** The public origin a configured `edge.origin` string names, or a ConfigError. */
function originOf(value: string): string {
  let url: URL
  try {
    url = new URL(value)
  } catch {
    throw new ConfigError('edge.origin', 'must be an absolute http(s) origin, e.g. "https://api.example.com"')
  }
  if ((url.protocol !== 'https:' && url.protocol !== 'http:') || url.origin !== value.replace(/\/$/, '')) {
    throw new ConfigError('edge.origin', 'must be an http(s) origin without path, query or fragment, e.g. "https://api.example.com"')
  }
  return url.origin
}

/** One guard's edge: the verifier, the public origin proofs are made for, and the Txn-Token exchange. */
export class EdgeGate {
  readonly verifier: EdgeVerifier
  private readonly origin: string | ((view: RequestView) => string)
  private readonly options: EdgeOptions

  /** @throws ConfigError naming the bad `edge` option */
  constructor(options: EdgeOptions, clock: () => number) {
    if (typeof options !== 'object' || (options as unknown) === null) throw new ConfigError('edge', 'must be the edge verifier options ({ trust, origin, … })')
    if (options.txnTokens !== undefined && typeof (options.txnTokens as typeof options.txnTokens | null)?.exchange !== 'function') {
      throw new ConfigError('edge.txnTokens', 'must be a Txn-Token exchange (createTxnTokenExchange)')
    }
    if (options.forwardAccessToken !== undefined && typeof options.forwardAccessToken !== 'boolean') throw new ConfigError('edge.forwardAccessToken', 'must be true or false')
    if (options.forwardAccessToken === true && options.txnTokens !== undefined) {
      throw new ConfigError('edge.forwardAccessToken', 'forwards the access token inward, which a Txn-Token Service (edge.txnTokens) replaces: choose one')
    }
    for (const hook of ['requestContext', 'requestDetails'] as const) {
      if (options[hook] !== undefined && typeof options[hook] !== 'function') throw new ConfigError(`edge.${hook}`, 'must be a function of the request view')
    }
    const origin = options.origin
    if (typeof origin === 'string') this.origin = originOf(origin)
    else if (typeof origin === 'function') this.origin = origin
    else throw new ConfigError('edge.origin', 'must be the public origin clients address ("https://api.example.com") or a function of the request view')
    this.options = options
    this.verifier = createEdgeVerifier({ ...options, clock: options.clock ?? clock })
  }

  /**
   * Verifies the request's access token (and DPoP proof) as the edge verifier does.
   *
   * @throws IdentityMissingError, IdentityError (401), UnavailableError (503)
   */
  async verify(view: RequestView, actor: ActorRequirement, transactionId: string): Promise<EdgeCaller> {
    // Every request at the edge acts for the user its access token names: a route for services alone refuses it.
    if (actor === 'forbidden') throw new IdentityError('actor_forbidden', 'this route does not accept a user’s access token', { tokenKind: 'actor' })
    const user = await this.verifier.verify({ method: view.method, url: this.urlOf(view), headers: view.headers })
    return edgeCallerOf(user, transactionId)
  }

  /** The URL the client addressed: the public origin and the request's path (query dropped, RFC 9449 §4.3). */
  private urlOf(view: RequestView): string {
    // A configured origin was checked at start-up; one a function picks is checked each time.
    const origin = typeof this.origin === 'string' ? this.origin : originOf(this.origin(view))
    if (typeof view.target !== 'string') throw new InternalError('the adapter gave no request target to check a DPoP proof against', { reason: 'request_target_unknown' })
    // Only the path is taken from the request: an absolute-form target must not choose the origin.
    return `${origin}${new URL(view.target, PATH_BASE).pathname}`
  }

  /** Whether handlers forward the verified access token as the actor (access-token mode). */
  get forwardsAccessTokens(): boolean {
    return this.options.forwardAccessToken === true
  }

  /**
   * The access token a handler forwards as the actor in access-token mode: the unbound one of an edge
   * caller without a Txn-Token; undefined for anything else.
   */
  forwardedActorOf(caller: unknown): string | undefined {
    if (this.options.forwardAccessToken !== true || !isEdgeCaller(caller) || caller.txn !== undefined || caller.boundKey !== undefined) return undefined
    return edgeAccessTokenOf(caller)
  }

  /** Whether routes with a `scope` exchange the access token for a Txn-Token. */
  get exchanges(): boolean {
    return this.options.txnTokens !== undefined
  }

  /** The challenge headers of a 401 about the access token, or of a refusal of a DPoP-bound token (`refusal`). */
  challenge(error: unknown, realm: string, refusal?: readonly string[]): Readonly<Record<string, string>> {
    return this.verifier.challenge(error, realm, refusal)
  }

  /**
   * Exchanges the edge caller's access token for a Txn-Token for `scope`.
   *
   * @throws DeniedError `txn_token_denied`, UnavailableError `txn_token_service_unavailable`
   */
  async exchange(caller: EdgeCaller, view: RequestView, scope: readonly string[]): Promise<EdgeCaller> {
    const { txnTokens, requestContext, requestDetails } = this.options
    const subjectToken = edgeAccessTokenOf(caller)
    if (txnTokens === undefined || subjectToken === undefined) throw new IdentityMissingError('no access token to exchange', { tokenKind: 'actor' })
    const issued = await txnTokens.exchange({
      subjectToken,
      subjectTokenType: 'access_token',
      scope,
      requestContext: requestContext?.(view),
      requestDetails: requestDetails?.(view),
    })
    return withIssuedTxnToken(caller, issued, txnTokens.clientId)
  }
}

/** Whether this caller still needs its Txn-Token (an edge caller that has none yet). */
export function needsExchange(caller: unknown): caller is EdgeCaller {
  return isEdgeCaller(caller) && caller.txn === undefined
}
