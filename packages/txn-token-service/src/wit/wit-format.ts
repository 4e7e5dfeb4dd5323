/**
 * The Workload Identity Token as this issuer signs it (draft-ietf-wimse-workload-creds-02 §5.1)
 * and the names its issuance policy is written against. Receivers read this module to know what
 * they verify.
 */

/** The JWS `typ` header of every WIT. */
export const WIT_TYP = 'wit+jwt'

/** The issuer-asserted claim (a collision-resistant name, creds §5.1.2): roles and attributes the policy granted. */
export const WIT_CLAIM = 'https://meshguard.dev/wit'

/** The Cerbos resource kind WIT issuance policies are written for. */
export const WIT_RESOURCE_KIND = 'workload_identity'

/** The policy action of an issuance. */
export const WIT_ISSUE_ACTION = 'issue'

/** What the issuance policy granted beside the identifier. */
export interface WitGrant {
  roles?: string[] | undefined
  attr?: Record<string, unknown> | undefined
}

/** The claims of a WIT. There is no `aud` (creds §5.1). */
export interface WitClaims {
  /** The issuer URL. */
  iss: string
  /** The workload identifier: a SPIFFE ID in the issuer's trust domain. */
  sub: string
  iat: number
  exp: number
  /** 128 random bits, base64url. */
  jti: string
  /** The workload's public key; its REQUIRED `alg` fixes the proof algorithm. */
  cnf: { jwk: Record<string, unknown> }
  /** Roles and attributes the issuance policy granted, when it granted any. */
  [WIT_CLAIM]?: WitGrant | undefined
}
