/**
 * `@meshguard/core/wimse`: WIMSE workload identity (draft-ietf-wimse-workload-creds-02 and
 * draft-ietf-wimse-wpt-02). A workload holds a Workload Identity Token (WIT) issued by an identity
 * server and the private key its `cnf.jwk` names. Receiving needs `trust.workloadIssuers` and
 * `identity.wimse` on the identity verifier (main entry); this subpath holds where WITs come from
 * (`witIssuerSource`: meshguard's WIT issuer; `staticWitSource`; `witFileSource` is on `/node`), the
 * proof-signing identity for the client, the names of meshguard's issuance protocol, the option
 * types and the wire names.
 *
 * @packageDocumentation
 */
export { witIssuerSource } from './identity/mint/wit-issuer-source.js'
export type { WitIssuerSourceOptions } from './identity/mint/wit-issuer-source.js'
export { staticWitSource, checkCredential } from './identity/mint/wit-source.js'
export type { WitSource, WorkloadCredential } from './identity/mint/wit-source.js'
export { WIT_ISSUANCE_PATH, WIT_JWKS_PATH, WIT_PROOF_TYP, WIT_ATTESTATION_TYPES } from './identity/mint/wit-issuance-wire.js'
export type { WitAttestationType, WitIssuanceResponse } from './identity/mint/wit-issuance-wire.js'
export { createWimseIdentity } from './identity/mint/wimse-identity.js'
export type { WimseIdentity, WimseIdentityOptions } from './identity/mint/wimse-identity.js'
export { signWpt } from './identity/mint/wpt-mint.js'
export type { WptClaims } from './identity/mint/wpt-mint.js'
export { WIT_TYP, WPT_TYP, WIT_HEADER, WPT_SCHEME, WIT_ATTRIBUTES_CLAIM, isWptAuthorization, parseWorkloadIdentifier } from './identity/wimse-wire.js'
export type { WorkloadIdentifier } from './identity/wimse-wire.js'
export type { WorkloadIssuerTrust } from './identity/trust/types.js'
export type { WimseReceiverOptions } from './identity/verify/types.js'
