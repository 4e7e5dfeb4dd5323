/**
 * The wire format of Transaction Tokens as this service issues them (draft-ietf-oauth-transaction-tokens-10
 * §9) and the RFC 8693 names of the exchange. Receivers read this module to know what they verify.
 */

/** The JWS `typ` header of every Txn-Token (draft §9.1). */
export const TXN_TOKEN_TYP = 'txntoken+jwt'

/** RFC 8693 `grant_type` of the exchange. */
export const TOKEN_EXCHANGE_GRANT_TYPE = 'urn:ietf:params:oauth:grant-type:token-exchange'

/** RFC 8693 client-assertion type of `private_key_jwt` client authentication (RFC 7523 §2.2). */
export const JWT_BEARER_ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer'

/** Token type URIs (RFC 8693 §3 and draft §16.1). */
export const TOKEN_TYPES = Object.freeze({
  txnToken: 'urn:ietf:params:oauth:token-type:txn_token',
  accessToken: 'urn:ietf:params:oauth:token-type:access_token',
  jwt: 'urn:ietf:params:oauth:token-type:jwt',
  idToken: 'urn:ietf:params:oauth:token-type:id_token',
  selfSigned: 'urn:ietf:params:oauth:token-type:self_signed',
} as const)

/** The subject token types the service accepts, by their short names. */
export type SubjectTokenKind = 'access_token' | 'jwt' | 'id_token' | 'self_signed' | 'txn_token'

/** The HTTP request header a Txn-Token travels in between services (draft §12.1). */
export const TXN_TOKEN_HEADER = 'txn-token'

/** Paths of the standalone server, relative to its issuer URL. */
export const TXN_TOKEN_SERVICE_PATHS = Object.freeze({
  /** RFC 8693 token exchange, POST form-encoded. */
  token: '/token',
  /** The JWKS of the keys Txn-Tokens are signed with. */
  jwks: '/.well-known/jwks.json',
  /** RFC 8414 authorization-server metadata (issuer, endpoints, supported types). */
  metadata: '/.well-known/oauth-authorization-server',
} as const)

/** The Cerbos resource kind issuance policies are written for. */
export const TXN_TOKEN_RESOURCE_KIND = 'txn_token'

/** The policy actions: a first token for a transaction, or a replacement of one. */
export const TXN_TOKEN_ACTIONS = Object.freeze({ issue: 'issue', replace: 'replace' } as const)

/**
 * The user the transaction acts for, as the service's configuration (claims it trusts, a lookup
 * hook) describes them: `tctx.user`. Receivers put it in `principal.attr.act.user`.
 */
export interface TxnTokenUser {
  /** Roles policies see as `act.user.roles`. */
  roles: string[]
  /** Attributes policies see as `act.user.attr` (department, ...). */
  attr: Record<string, unknown>
}

/**
 * The transaction context (`tctx`): values fixed for the whole call chain. The request's
 * `request_details` members sit at the top level; `user` is reserved for the service.
 */
export interface TxnTokenContext {
  /** The user, when the subject is one the service describes (absent for workload subjects). */
  user?: TxnTokenUser | undefined
  [detail: string]: unknown
}

/**
 * The claims of a Txn-Token (draft §9.2). Every member but `tctx`, `rctx`, `iss` and `req_wl_prev`
 * is always present.
 */
export interface TxnTokenClaims {
  /** The service's issuer URL. */
  iss: string
  /** Issue time (seconds). */
  iat: number
  /** The trust domain: the token is accepted nowhere else. */
  aud: string
  /** Expiry (seconds); at most the configured lifetime after `iat`, never after a replaced token's. */
  exp: number
  /** The transaction id: a UUID, kept by replacements. */
  txn: string
  /** The principal: a user (prefixed per subject issuer when configured) or a workload SPIFFE ID. */
  sub: string
  /** Space-separated purpose of the transaction, never wider than the subject token allowed. */
  scope: string
  /** The SPIFFE ID of the workload that requested this token. */
  req_wl: string
  /** Workloads that requested earlier tokens of this transaction (replacements), oldest first. */
  req_wl_prev?: string[] | undefined
  /** Transaction context, see {@link TxnTokenContext}. */
  tctx?: TxnTokenContext | undefined
  /** Request context, from the request's `request_context`. */
  rctx?: Record<string, unknown> | undefined
}

/** The successful token-exchange response (draft §11.4, RFC 8693 §2.2.1). */
export interface TxnTokenResponse {
  access_token: string
  issued_token_type: typeof TOKEN_TYPES.txnToken
  token_type: 'N_A'
  expires_in: number
  /** Present when the granted scope differs from the requested one. */
  scope?: string | undefined
}

/** RFC 6749 §5.2 error codes the service answers with (plus `temporarily_unavailable`, 503). */
export type OAuthErrorCode =
  | 'invalid_request'
  | 'invalid_client'
  | 'invalid_grant'
  | 'unauthorized_client'
  | 'unsupported_grant_type'
  | 'invalid_scope'
  | 'invalid_target'
  | 'temporarily_unavailable'

/** The JSON body of an error response. */
export interface OAuthErrorBody {
  error: OAuthErrorCode
  error_description: string
}
