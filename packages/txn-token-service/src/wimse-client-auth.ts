/**
 * Authenticates the requesting workload by its WIMSE credentials instead of a registered key: a
 * Workload Identity Token from a workload issuer this service trusts (`trust.workloadIssuers`) and a
 * Workload Proof Token for exactly this token endpoint, signed with the WIT's key. The service then
 * holds one issuer key set per trust domain, not one key per requesting workload. Core's verifier does
 * every check (the receiver order of the WIMSE drafts, the single-use `jti` of each proof); roles come
 * from the trust configuration and, only from an attribute-authority issuer, from the WIT.
 */
import { createIdentityVerifier, type IdentityVerifier, type TrustBundle, type VerifiedCaller } from '@meshguard/core'
import { WIT_HEADER } from '@meshguard/core/wimse'
import { fromVerifierError, refuse } from './errors.js'
import type { WorkloadProof } from './service-api.js'
import type { ServiceState } from './state/shared-state.js'

/** Longest WPT lifetime accepted at the token endpoint (a proof is made for one request). */
const MAX_PROOF_LIFETIME = 120

/**
 * The `wimse` option of a verifier that shares a trust bundle naming workload issuers but is only
 * ever handed Bearer tokens (client assertions, `self_signed` subjects): core needs the WIMSE side
 * named once issuers are trusted, and Bearer stays accepted beside it.
 */
export function bearerBesideProofs(trust: TrustBundle, audience: string): { wimse?: { audiences: string[]; accept: 'wpt-and-bearer' } } {
  return trust.acceptsWorkloadProofs ? { wimse: { audiences: [audience], accept: 'wpt-and-bearer' } } : {}
}

/** Settings of the WIMSE authenticator. */
export interface WimseClientAuthSettings {
  readonly trust: TrustBundle
  /** The token endpoint URL: the only `aud` a proof may carry. */
  readonly tokenEndpoint: string
  readonly clockTolerance: number
  readonly maxTokenBytes: number
  readonly clock: () => number
  /** Where used proof `jti`s are recorded (this process, or the replicas' shared store). */
  readonly state: ServiceState
}

/** Verifies WIT + WPT client authentication. */
export class WimseClientAuthenticator {
  private readonly verifier: IdentityVerifier

  constructor(settings: WimseClientAuthSettings) {
    this.verifier = createIdentityVerifier({
      trust: settings.trust,
      wimse: { audiences: [settings.tokenEndpoint], maxWptTtl: MAX_PROOF_LIFETIME, clockSkew: settings.clockTolerance },
      // Each proof is single-use, recorded where client assertions are (this process, or shared).
      replay: settings.state.verifierReplay,
      maxTokenBytes: settings.maxTokenBytes,
      signatureCheck: 'inline',
      clock: settings.clock,
    })
  }

  /**
   * The authenticated workload.
   * @throws TokenExchangeError `invalid_client` (401) for a missing, bad or replayed proof or WIT;
   *   `temporarily_unavailable` (503) when the issuer's keys or the replay store cannot answer
   */
  async authenticate(proof: WorkloadProof, clientId: string | undefined): Promise<VerifiedCaller> {
    let caller: VerifiedCaller
    try {
      caller = await this.verifier.verify({ authorization: proof.authorization, [WIT_HEADER]: proof.wit }, { actor: 'forbidden' })
    } catch (err) {
      throw fromVerifierError(err, (reason) => refuse.client(reason ?? 'wpt_invalid', 'the workload identity token or its proof is not valid', err))
    }
    if (clientId !== undefined && clientId !== caller.workload.id) throw refuse.client('client_id_mismatch', 'client_id differs from the WIT subject')
    return caller
  }
}
