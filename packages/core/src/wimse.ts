/**
 * `@meshguard/core/wimse`: WIMSE workload identity (draft-ietf-wimse-workload-creds). A workload
 * holds a Workload Identity Token (WIT) issued by an identity server and the private key its
 * `cnf.jwk` names; this subpath holds where WITs come from (`witIssuerSource`: meshguard's WIT
 * issuer) and the names of meshguard's issuance protocol.
 *
 * @packageDocumentation
 */
export { witIssuerSource } from './identity/mint/wit-issuer-source.js'
export type { WitIssuerSourceOptions } from './identity/mint/wit-issuer-source.js'
export type { WitSource, WorkloadCredential } from './identity/mint/wit-source.js'
export { WIT_ISSUANCE_PATH, WIT_JWKS_PATH, WIT_PROOF_TYP, WIT_ATTESTATION_TYPES } from './identity/mint/wit-issuance-wire.js'
export type { WitAttestationType, WitIssuanceResponse } from './identity/mint/wit-issuance-wire.js'
