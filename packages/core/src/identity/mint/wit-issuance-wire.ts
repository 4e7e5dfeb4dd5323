/**
 * meshguard's WIT issuance protocol (WIMSE defines none, workload-creds §1.2): the workload POSTs
 * JSON `{ attestation_type, attestation, proof, roles? }` to `<issuer>/wit`. `proof` is a JWT signed
 * by the workload's fresh private key, carrying the public key in its `jwk` header, `aud` = the
 * issuer, a fresh `jti`, `iat`, and `ath` = base64url(SHA-256(attestation)), so the attestation
 * and the key travel bound together. Issuer and client both read these names from here.
 */

/** Path of the issuance endpoint, relative to the issuer URL. */
export const WIT_ISSUANCE_PATH = '/wit'

/** Path of the JWKS of the WIT signing keys, relative to the issuer URL. */
export const WIT_JWKS_PATH = '/.well-known/wit-jwks.json'

/** `typ` of the proof-of-possession JWT. */
export const WIT_PROOF_TYP = 'wit-pop+jwt'

/** The bootstrap attestations an issuer can accept, each configured explicitly. */
export const WIT_ATTESTATION_TYPES = Object.freeze({
  /** A Kubernetes projected service-account token. */
  kubernetes: 'kubernetes_sa_token',
  /** An RFC 7523 client assertion signed by a key registered for the workload. */
  privateKeyJwt: 'private_key_jwt',
  /** A SPIFFE JWT-SVID. */
  jwtSvid: 'spiffe_jwt_svid',
} as const)

/** One attestation type's wire name. */
export type WitAttestationType = (typeof WIT_ATTESTATION_TYPES)[keyof typeof WIT_ATTESTATION_TYPES]

/** The issuer's answer to a granted request. */
export interface WitIssuanceResponse {
  /** The WIT (`typ: wit+jwt`). */
  wit: string
  /** Its `sub`. */
  sub: string
  /** Its `exp`, epoch seconds. */
  expires_at: number
}
