/**
 * Authenticates the requesting workload: an RFC 7523 `private_key_jwt` assertion signed with its
 * workload key (`iss = sub` = its SPIFFE ID, `aud` = the token endpoint, a `jti` never seen before).
 * Keys, roles and attributes come from the service's trust configuration through core's verifier:
 * nothing the assertion says about itself grants anything.
 */
import { createIdentityVerifier, type TrustBundle, type TrustBundleOptions, type VerifiedCaller } from '@meshguard/core'
import { fromVerifierError, refuse } from './errors.js'
import { ExpiringCounter } from './expiring-set.js'
import { checkCompactToken } from './request.js'
import type { ClientAuthentication } from './service-api.js'
import { JWT_BEARER_ASSERTION_TYPE } from './token-format.js'

/** Assertions whose `jti` is remembered at once; more fail closed until older ones expire. */
const REPLAY_CAPACITY = 100_000
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
}

/** Verifies client assertions and remembers their `jti`s. */
export class ClientAuthenticator {
  private readonly verifier
  private readonly seen = new ExpiringCounter(REPLAY_CAPACITY)

  constructor(private readonly settings: ClientAuthSettings) {
    this.verifier = createIdentityVerifier({
      audience: settings.tokenEndpoint,
      trust: settings.trust,
      clockTolerance: settings.clockTolerance,
      maxWorkloadLifetime: MAX_ASSERTION_LIFETIME,
      maxTokenBytes: settings.maxTokenBytes,
      // Each assertion is single-use: a cache could only ever answer a replay.
      cacheSize: 0,
      // Every assertion is new, so every one is checked: on the event loop, without a thread hop.
      signatureCheck: 'inline',
      clock: settings.clock,
    })
  }

  /** The trust bundle, shared with the self-signed subject check. */
  get trust(): TrustBundle {
    return this.verifier.trust
  }

  /**
   * The authenticated workload.
   * @throws TokenExchangeError `invalid_client` (401) for a missing, bad or replayed assertion;
   *   `temporarily_unavailable` (503) when the workload keys cannot be fetched
   */
  async authenticate(client: ClientAuthentication): Promise<VerifiedCaller> {
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
    const now = this.settings.clock()
    const until = caller.expiresAt + this.settings.clockTolerance * 1000
    // Length-prefixed so no two (workload, jti) pairs share a key.
    const count = this.seen.increment(`${caller.workload.id.length}:${caller.workload.id}${jti}`, until, now)
    if (count === undefined) throw refuse.unavailable('replay_cache_full', 'too many client assertions in flight')
    if (count > 1) throw refuse.client('client_assertion_replayed', 'client assertion was already used')
    return caller
  }
}
