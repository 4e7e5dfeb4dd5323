/** What a verified bootstrap attestation says about a workload, whatever its kind. */
import { parseSpiffeId, type SpiffeId } from '@meshguard/core'
import type { WitAttestationType } from '@meshguard/core/wimse'
import { refuse } from '../errors.js'

/** A verified attestation. */
export interface Attestation {
  readonly type: WitAttestationType
  /** Who vouched: the cluster's token issuer, the registered client, the SPIFFE trust domain. */
  readonly authority: string
  /** The verified facts, strings only, without a prototype (policies see them as `principal.attr.attestation`). */
  readonly facts: Readonly<Record<string, string>>
  /** The workload identifier the attestation maps to. */
  readonly sub: string
}

/** Verifies one kind of attestation. */
export interface AttestationVerifier {
  /**
   * @throws TokenExchangeError `invalid_request`/`invalid_client` for a bad attestation,
   *   `temporarily_unavailable` when its authority's keys cannot be fetched
   */
  verify(token: string): Promise<Attestation>
}

/** Prototype-less facts from entries (values already checked to be strings). */
export function factsOf(entries: ReadonlyArray<readonly [string, string | undefined]>): Readonly<Record<string, string>> {
  const facts = Object.create(null) as Record<string, string>
  for (const [name, value] of entries) if (value !== undefined) facts[name] = value
  return Object.freeze(facts)
}

/**
 * The identifier, checked: a SPIFFE ID in the issuer's trust domain.
 * @throws TokenExchangeError `invalid_grant` (`subject_outside_trust_domain`)
 */
export function checkWorkloadId(id: string, trustDomain: string): SpiffeId {
  let parsed: SpiffeId
  try {
    parsed = parseSpiffeId(id)
  } catch (err) {
    throw refuse.grant('subject_invalid', 'the attestation does not map to a valid workload identifier', err)
  }
  if (parsed.trustDomain !== trustDomain) throw refuse.grant('subject_outside_trust_domain', 'the workload identifier is outside this trust domain')
  return parsed
}
