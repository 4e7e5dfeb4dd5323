/**
 * Option types of the WIT issuer (the `wit` option of the Txn-Token Service). Durations are in
 * seconds. Every attestation source is configured explicitly: nothing trusts "any issuer".
 */
import type { KeySourceOptions } from '@meshguard/core'
import type { SubjectIssuerKeys, TxnTokenSigningKeyInput } from '../options.js'

/** A Kubernetes cluster whose projected service-account tokens attest workloads. */
export interface KubernetesAttestationOptions {
  /** A name for audit records and policies (`principal.attr.attestation.cluster`). */
  cluster: string
  /** The cluster's service-account token issuer: the exact `iss`. */
  issuer: string
  /** The cluster's token verification keys (its JWKS inline, in a file, at a URL, or by discovery). */
  keys: SubjectIssuerKeys
  /** The `aud` projected tokens must name (the `audience` of the projected volume). @defaultValue the WIT issuer URL */
  audience?: string | undefined
  /**
   * The workload identifier template: `{trustDomain}`, `{cluster}`, `{namespace}`, `{serviceAccount}`.
   * @defaultValue `'spiffe://{trustDomain}/ns/{namespace}/sa/{serviceAccount}'`
   */
  subject?: string | undefined
  /** Accepted signature algorithms. @defaultValue RS256, ES256, PS256, EdDSA */
  algorithms?: string[] | undefined
  /** Refuse tokens issued longer ago than this. @defaultValue 86400 */
  maxTokenAge?: number | undefined
  /** Abort a JWKS or discovery fetch after this long (ms). @defaultValue 5000 */
  timeoutMs?: number | undefined
}

/** A workload registered with its own key: it attests with an RFC 7523 `private_key_jwt` assertion. */
export interface RegisteredWorkloadKey {
  /** The workload's client id: its SPIFFE ID, `iss` = `sub` of its assertions and the WIT `sub`. */
  clientId: string
  /** Its public keys (core's key sources: `{ jwks }`, `{ jwksFile }`, `{ jwksUrl }`). */
  keys: KeySourceOptions
}

/** A SPIFFE trust domain whose JWT-SVIDs attest workloads. */
export interface SpiffeBundleOptions {
  /** The SVIDs' trust domain; their `sub` must lie in it. */
  trustDomain: string
  /** The trust domain's JWT bundle (core's key sources). */
  keys: KeySourceOptions
  /** The SVIDs' `iss`, when the SPIRE server sets one. @defaultValue none (SVIDs without `iss`) */
  issuer?: string | undefined
  /** Accepted signature algorithms. @defaultValue EdDSA, ES256, ES384, PS256, RS256 */
  algorithms?: string[] | undefined
}

/** Options of the WIT issuer. */
export interface WitIssuerOptions {
  /** WIT signing keys, separate from the Txn-Token keys (ES256 or EdDSA); the first signs. */
  signingKeys: TxnTokenSigningKeyInput[]
  /** The trust domain of every WIT `sub`. @defaultValue the service's `trustDomain` */
  trustDomain?: string | undefined
  /** WIT lifetime, 60 to 86400. @defaultValue 3600 */
  lifetime?: number | undefined
  /**
   * Roles the issuer may ever assert. Each is granted to a workload only when the policy allows the
   * action `role:<name>` on its `workload_identity` resource. @defaultValue none
   */
  roles?: string[] | undefined
  /**
   * Verified attestation facts copied into the WIT's `attr` (e.g. `namespace`, `cluster`): only
   * what the attestation's configured authority vouched for. @defaultValue none
   */
  attributes?: string[] | undefined
  /** Kubernetes clusters. @defaultValue none */
  kubernetes?: KubernetesAttestationOptions[] | undefined
  /** Workloads with registered keys. @defaultValue none */
  registeredKeys?: RegisteredWorkloadKey[] | undefined
  /** SPIFFE trust domains. @defaultValue none */
  spiffe?: SpiffeBundleOptions[] | undefined
  /** How old a proof of possession may be. @defaultValue 60 */
  maxProofAge?: number | undefined
  /** After `rotateKey`, the new key is published this long before it signs. @defaultValue the service's `keyActivationDelay` */
  keyActivationDelay?: number | undefined
}
