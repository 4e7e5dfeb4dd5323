/** The public shape of a running Txn-Token Service. */
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { JsonWebKeySet } from '@meshguard/core'
import type { TxnTokenSigningKeyInput } from './options.js'
import type { TxnTokenResponse } from './token-format.js'
import type { WitIssuer } from './wit/wit-issuer.js'

/** WIMSE client authentication: the request's `Workload-Identity-Token` and `Authorization: WPT` headers. */
export interface WorkloadProof {
  /** `Workload-Identity-Token`, as received (several values are refused). */
  wit: string | string[] | undefined
  /** `Authorization`, as received. */
  authorization: string | string[] | undefined
}

/**
 * How the requesting workload authenticated: its RFC 7523 `private_key_jwt` assertion, or (with
 * `trust.workloadIssuers`) its WIT and a proof for the token endpoint. One method per request.
 */
export interface ClientAuthentication {
  /** `client_assertion`. */
  assertion: string | undefined
  /** `client_assertion_type`; must be the jwt-bearer URN. */
  assertionType: string | undefined
  /** `client_id`, when sent: must equal the assertion's (or the WIT's) `sub`. */
  clientId?: string | undefined
  /** The WIMSE headers, when the request carried either. */
  workloadProof?: WorkloadProof | undefined
}

/** A Txn-Token Service: the HTTP handler plus the operations behind it. */
export interface TxnTokenService {
  /** The issuer URL (`iss` of its tokens). */
  readonly issuer: string
  /** The trust domain (`aud` of its tokens). */
  readonly trustDomain: string
  /** `<issuer>/token`: the `aud` client assertions name. */
  readonly tokenEndpoint: string
  /** `<issuer>/.well-known/jwks.json`. */
  readonly jwksUri: string
  /** The WIT issuer, when the `wit` option enabled it. */
  readonly wit: WitIssuer | undefined
  /**
   * The Node request handler: `POST /token`, `GET /.well-known/jwks.json`, `GET
   * /.well-known/oauth-authorization-server`, and with WITs `POST /wit`, `GET /.well-known/wit-jwks.json`. Never answers 500: every failure is an RFC 6749 error.
   */
  readonly handler: (req: IncomingMessage, res: ServerResponse) => void
  /**
   * One token exchange from already parsed parameters (the oidc-provider grant uses it).
   * @throws TokenExchangeError with the RFC 6749 error code and HTTP status
   */
  exchange(params: ReadonlyMap<string, string>, client: ClientAuthentication): Promise<TxnTokenResponse>
  /** The keys receivers verify with: the signing key, keys about to sign, keys of tokens still valid. */
  jwks(): JsonWebKeySet
  /**
   * Publishes a new signing key now and signs with it once `keyActivationDelay` has passed; the old
   * key stays published until every token it signed has expired.
   */
  rotateKey(key: TxnTokenSigningKeyInput): void
  /** Listens on `host` (default 127.0.0.1) and `port` (default 0); resolves to the base URL. */
  listen(port?: number, host?: string): Promise<string>
  /** Stops listening (when `listen` was used) and closes open connections. */
  close(): Promise<void>
}
