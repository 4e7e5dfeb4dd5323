/**
 * Authenticates the requesting workload: an RFC 7523 `private_key_jwt` assertion signed with its
 * workload key (`iss = sub` = its SPIFFE ID, `aud` = the token endpoint, a `jti` never seen before).
 * Keys, roles and attributes come from the service's trust configuration through core's verifier:
 * nothing the assertion says about itself grants anything.
 */
import { createIdentityVerifier, createTrustBundle, TrustBundle, type TrustBundleOptions, type VerifiedCaller } from '@meshguard/core'
import { fromVerifierError, refuse } from './errors.js'
import { checkCompactToken } from './request.js'
import type { ClientAuthentication } from './service-api.js'
import type { ServiceState, SingleUseKind } from './state/shared-state.js'
import { JWT_BEARER_ASSERTION_TYPE } from './token-format.js'
import { bearerBesideProofs, WimseClientAuthenticator } from './wimse-client-auth.js'

/** Longest assertion lifetime accepted (RFC 7523 assertions are meant to be short). */
const MAX_ASSERTION_LIFETIME = 600

/** Settings of the authenticator. */
export interface ClientAuthSettings {
  readonly trust: TrustBundle | TrustBundleOptions
  /** The token endpoint URL: the only `aud` an assertion may carry. */
  readonly tokenEndpoint: string
  readonly clockTolerance: number
  readonly maxTokenBytes: number
  readonly clock: () => number
  /** Where used `jti`s are recorded, under which kind. */
  readonly state: ServiceState
  readonly kind: SingleUseKind
}

/** Verifies client assertions and remembers their `jti`s. */
export class ClientAuthenticator {
  private readonly verifier
  /** WIT + WPT authentication, when the trust configuration names workload issuers. */
  private readonly wimse: WimseClientAuthenticator | undefined

  constructor(private readonly settings: ClientAuthSettings) {
    const trust = settings.trust instanceof TrustBundle ? settings.trust : createTrustBundle(settings.trust)
    const proofs = trust.acceptsWorkloadProofs
    this.verifier = createIdentityVerifier({
      audience: settings.tokenEndpoint,
      trust,
      ...bearerBesideProofs(trust, settings.tokenEndpoint),
      clockTolerance: settings.clockTolerance,
      maxWorkloadLifetime: MAX_ASSERTION_LIFETIME,
      maxTokenBytes: settings.maxTokenBytes,
      // Each assertion is single-use: a cache could only ever answer a replay.
      cacheSize: 0,
      // Every assertion is new, so every one is checked: on the event loop, without a thread hop.
      signatureCheck: 'inline',
      clock: settings.clock,
    })
    this.wimse = proofs ? new WimseClientAuthenticator({ ...settings, trust }) : undefined
  }

  /** The trust bundle, shared with the self-signed subject check. */
  get trust(): TrustBundle {
    return this.verifier.trust
  }

  /**
   * The authenticated workload.
   * @throws TokenExchangeError `invalid_client` (401) for a missing, bad or replayed assertion;
   *   `temporarily_unavailable` (503) when the workload keys cannot be fetched or the used ids cannot be recorded
   */
  async authenticate(client: ClientAuthentication): Promise<VerifiedCaller> {
    if (client.workloadProof !== undefined) {
      // RFC 6749 §2.3: one authentication method per request.
      if (client.assertion !== undefined || client.assertionType !== undefined) {
        throw refuse.request('client_authentication_ambiguous', 'use either a client assertion or a WIT with its proof, not both')
      }
      if (this.wimse === undefined) throw refuse.client('client_authentication_method', 'this service trusts no workload issuer: authenticate with private_key_jwt')
      return this.wimse.authenticate(client.workloadProof, client.clientId)
    }
    if (client.assertionType === undefined && client.assertion === undefined) {
      throw refuse.client('client_authentication_missing', 'client authentication (private_key_jwt) is required')
    }
    if (client.assertionType !== JWT_BEARER_ASSERTION_TYPE) {
      throw refuse.client('client_assertion_type_unsupported', 'client_assertion_type must be jwt-bearer')
    }
    let assertion: string
    try {
      assertion = checkCompactToken(client.assertion, 'client_assertion', this.settings.maxTokenBytes)
    } catch (err) {
      throw refuse.client('client_assertion_malformed', 'client_assertion is missing or malformed', err)
    }
    let caller: VerifiedCaller
    try {
      caller = await this.verifier.verify({ authorization: `Bearer ${assertion}` }, { actor: 'forbidden' })
    } catch (err) {
      throw fromVerifierError(err, (reason) => refuse.client(reason ?? 'client_assertion_invalid', 'client assertion is not valid', err))
    }
    const claims = caller.workload.claims
    if (claims['iss'] !== caller.workload.id) throw refuse.client('client_assertion_iss', 'client assertion iss must equal its sub')
    if (client.clientId !== undefined && client.clientId !== caller.workload.id) {
      throw refuse.client('client_id_mismatch', 'client_id differs from the assertion subject')
    }
    const jti = claims['jti']
    if (typeof jti !== 'string' || jti === '' || jti.length > 256) throw refuse.client('client_assertion_jti', 'client assertion needs a jti')
    const { state, kind, clock, clockTolerance } = this.settings
    // Kept as long as the assertion could still be accepted.
    const until = caller.expiresAt + clockTolerance * 1000
    const first = await state.firstUse(kind, [caller.workload.id, jti], until, clock())
    if (!first) throw refuse.client('client_assertion_replayed', 'client assertion was already used')
    return caller
  }
}
