/**
 * Attestations vouched for by core's workload trust: `private_key_jwt` assertions signed by a key
 * registered for one workload (RFC 7523: `iss` = `sub` = its client id, `aud` = the issuer, a
 * `jti` never seen before), and SPIFFE JWT-SVIDs verified against a configured trust bundle.
 * Keys come from core's key sources (inline, file, URL); the identity is the verified `sub`.
 */
import { ConfigError, createIdentityVerifier, isSpiffeId, MeshguardError, type VerifiedCaller } from '@meshguard/core'
import { WIT_ATTESTATION_TYPES } from '@meshguard/core/wimse'
import { ClientAuthenticator } from '../client-auth.js'
import { fromVerifierError, refuse } from '../errors.js'
import type { ServiceState } from '../state/shared-state.js'
import { JWT_BEARER_ASSERTION_TYPE } from '../token-format.js'
import { checkWorkloadId, factsOf, type Attestation, type AttestationVerifier } from './attestation.js'
import type { RegisteredWorkloadKey, SpiffeBundleOptions } from './wit-options.js'

/** Settings both share. */
export interface WorkloadKeySettings {
  readonly issuerUrl: string
  readonly trustDomain: string
  readonly clockTolerance: number
  readonly maxTokenBytes: number
  readonly clock: () => number
}

/** Core's verifier reason as the issuer's attestation reason. */
function attestationReason(reason: string | undefined): string {
  switch (reason) {
    case 'token_expired':
      return 'attestation_expired'
    case 'aud_mismatch':
    case 'multi_audience':
      return 'attestation_audience'
    case 'unknown_issuer':
    case 'unknown_key':
    case 'key_not_bound':
      return 'attestation_issuer_unknown'
    default:
      return 'attestation_invalid'
  }
}

/** Workloads with registered keys. */
export class RegisteredKeyAttestations implements AttestationVerifier {
  private readonly clients: ClientAuthenticator

  constructor(
    list: readonly RegisteredWorkloadKey[],
    private readonly settings: WorkloadKeySettings,
    state: ServiceState,
  ) {
    const ids = new Set<string>()
    list.forEach((entry, i) => {
      if (typeof entry !== 'object' || (entry as unknown) === null || !isSpiffeId(entry.clientId)) throw new ConfigError(`wit.registeredKeys[${i}].clientId`, 'must be a SPIFFE ID')
      if (ids.has(entry.clientId)) throw new ConfigError(`wit.registeredKeys[${i}].clientId`, 'is listed twice')
      ids.add(entry.clientId)
    })
    this.clients = new ClientAuthenticator({
      trust: { workloads: list.map((entry) => ({ issuer: entry.clientId, keys: entry.keys })) },
      tokenEndpoint: settings.issuerUrl,
      clockTolerance: settings.clockTolerance,
      maxTokenBytes: settings.maxTokenBytes,
      clock: settings.clock,
      state,
      kind: 'wit_attestation',
    })
  }

  async verify(token: string): Promise<Attestation> {
    let caller: VerifiedCaller
    try {
      caller = await this.clients.authenticate({ assertion: token, assertionType: JWT_BEARER_ASSERTION_TYPE })
    } catch (err) {
      // Replays and unavailability keep their own codes; the verifier's codes become attestation codes.
      if (err instanceof MeshguardError && (err.reason === 'client_assertion_replayed' || err.code === 'ERR_AUTHZ_UNAVAILABLE')) throw err
      throw refuse.request(
        err instanceof MeshguardError && err.reason === 'client_assertion_iss' ? 'attestation_invalid' : attestationReason(err instanceof MeshguardError ? err.reason : undefined),
        'private_key_jwt attestation is not valid',
        err,
      )
    }
    const sub = caller.workload.id
    checkWorkloadId(sub, this.settings.trustDomain)
    return { type: WIT_ATTESTATION_TYPES.privateKeyJwt, authority: sub, facts: factsOf([['clientId', sub]]), sub }
  }
}

/** SPIFFE trust domains whose JWT-SVIDs attest workloads. */
export class JwtSvidAttestations implements AttestationVerifier {
  private readonly verifier

  constructor(list: readonly SpiffeBundleOptions[], private readonly settings: WorkloadKeySettings) {
    list.forEach((entry, i) => {
      if (typeof entry !== 'object' || (entry as unknown) === null || typeof entry.trustDomain !== 'string' || !/^[a-z0-9._-]+$/.test(entry.trustDomain)) {
        throw new ConfigError(`wit.spiffe[${i}].trustDomain`, 'must be a SPIFFE trust domain name')
      }
    })
    this.verifier = createIdentityVerifier({
      audience: settings.issuerUrl,
      trust: {
        workloads: list.map((entry) => ({
          issuer: entry.issuer,
          identities: [`spiffe://${entry.trustDomain}/*`],
          keys: entry.keys,
          // JWT-SVIDs carry `typ: JWT` or none; any other type is another kind of token.
          typ: ['JWT'],
          typOptional: true,
          algorithms: entry.algorithms,
          requireActorBinding: false,
        })),
      },
      clockTolerance: settings.clockTolerance,
      maxTokenBytes: settings.maxTokenBytes,
      cacheSize: 0,
      signatureCheck: 'inline',
      clock: settings.clock,
    })
  }

  async verify(token: string): Promise<Attestation> {
    let caller: VerifiedCaller
    try {
      caller = await this.verifier.verify({ authorization: `Bearer ${token}` }, { actor: 'forbidden' })
    } catch (err) {
      throw fromVerifierError(err, (reason) => refuse.request(attestationReason(reason), 'JWT-SVID attestation is not valid', err))
    }
    const sub = caller.workload.id
    const id = checkWorkloadId(sub, this.settings.trustDomain)
    return { type: WIT_ATTESTATION_TYPES.jwtSvid, authority: `spiffe://${id.trustDomain}`, facts: factsOf([['spiffeId', sub], ['trustDomain', id.trustDomain]]), sub }
  }
}
