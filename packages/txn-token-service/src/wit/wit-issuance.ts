/**
 * One WIT issuance, in a fixed order: the request, the attestation (who the workload is), the
 * proof of possession (which key it holds, bound to that attestation), the roles it asks for, the
 * issuance policy, signing. The identifier comes from the attestation and the configuration; roles
 * only from the policy; nothing the request says about itself grants anything. Every outcome is
 * audited and traced.
 */
import { randomBytes } from 'node:crypto'
import type { DecisionEngine, Value } from '@meshguard/core'
import type { WitAttestationType, WitIssuanceResponse } from '@meshguard/core/wimse'
import { refuse, type TokenExchangeError } from '../errors.js'
import { auditedRun } from '../exchange-audit.js'
import { putOwn } from '../plain-data.js'
import type { SigningKeyRing } from '../signing-keys.js'
import type { Attestation, AttestationVerifier } from './attestation.js'
import type { ProofVerifier } from './proof.js'
import { WitAudit, type WitTrace } from './wit-audit.js'
import { WIT_CLAIM, WIT_ISSUE_ACTION, WIT_RESOURCE_KIND, WIT_TYP, type WitClaims, type WitGrant } from './wit-format.js'
import { parseWitRequest, type WitRequest } from './wit-request.js'

/** The policy action that grants one role. */
export const roleAction = (role: string): string => `role:${role}`

/** Everything an issuance needs, resolved once. */
export interface WitIssuanceSettings {
  readonly issuer: string
  readonly trustDomain: string
  readonly lifetime: number
  /** Roles the issuer may ever assert. */
  readonly roles: readonly string[]
  /** Attestation facts copied into `attr`. */
  readonly attributes: readonly string[]
  readonly maxTokenBytes: number
  readonly verifiers: ReadonlyMap<WitAttestationType, AttestationVerifier>
  readonly proofs: ProofVerifier
  readonly keys: SigningKeyRing
  readonly engine: DecisionEngine
  readonly audit: WitAudit
  readonly clock: () => number
}

/** Runs WIT issuances for one issuer. */
export class WitIssuance {
  constructor(private readonly settings: WitIssuanceSettings) {}

  /** Answers one request (its parsed JSON body), or throws a `TokenExchangeError`. Never throws anything else. */
  async issue(body: unknown): Promise<WitIssuanceResponse> {
    const { audit } = this.settings
    const trace = WitAudit.trace()
    const span = audit.start()
    return auditedRun(
      () => this.run(body, trace),
      () => audit.issued(trace, span),
      (refusal) => audit.refused(trace, span, refusal),
    )
  }

  /** Audits a request refused before its body could be read. */
  refusedEarly(error: TokenExchangeError): void {
    const { audit } = this.settings
    audit.refused(WitAudit.trace(), audit.start(), error)
  }

  private async run(body: unknown, trace: WitTrace): Promise<WitIssuanceResponse> {
    const { settings } = this
    const request = parseWitRequest(body, settings.maxTokenBytes)
    trace.attestationType = request.attestationType
    trace.attestationToken = request.attestation
    const verifier = settings.verifiers.get(request.attestationType)
    if (verifier === undefined) throw refuse.request('attestation_type_not_configured', 'this issuer accepts no attestation of this type')
    const attestation = await verifier.verify(request.attestation)
    trace.attestation = attestation
    const cnf = await settings.proofs.verify(request.proof, request.attestation)

    const roles = await this.authorize(request, attestation, trace)
    trace.roles = roles
    const grant: WitGrant = {}
    if (roles.length > 0) grant.roles = [...roles]
    const attr = Object.create(null) as Record<string, unknown>
    for (const name of settings.attributes) if (Object.hasOwn(attestation.facts, name)) putOwn(attr, name, attestation.facts[name])
    if (Object.keys(attr).length > 0) grant.attr = attr

    const iat = Math.floor(settings.clock() / 1000)
    const claims: WitClaims = {
      iss: settings.issuer,
      sub: attestation.sub,
      iat,
      exp: iat + settings.lifetime,
      jti: randomBytes(16).toString('base64url'),
      cnf: { jwk: { ...cnf.jwk } },
    }
    if (grant.roles !== undefined || grant.attr !== undefined) claims[WIT_CLAIM] = grant
    trace.witId = claims.jti
    const wit = settings.keys.sign(claims as unknown as Record<string, unknown>, WIT_TYP)
    return { wit, sub: claims.sub, expires_at: claims.exp }
  }

  /**
   * Asks the engine whether to issue, and which roles to grant (action `role:<name>` per role);
   * refuses unless it allows issuance and every role asked for.
   */
  private async authorize(request: WitRequest, attestation: Attestation, trace: WitTrace): Promise<string[]> {
    const { settings } = this
    const known = new Set(settings.roles)
    const unknown = request.roles?.find((role) => !known.has(role))
    if (unknown !== undefined) throw refuse.scope('role_not_granted', 'a requested role is not one this issuer asserts')
    const candidates = request.roles ?? settings.roles
    const actions = [WIT_ISSUE_ACTION, ...candidates.map(roleAction)]
    let effects: Record<string, string | undefined>
    try {
      const response = await settings.engine.checkResources({
        principal: {
          id: attestation.sub,
          roles: [attestation.type],
          attr: { attestation: { type: attestation.type, authority: attestation.authority, ...attestation.facts } },
        },
        resources: [
          {
            resource: {
              kind: WIT_RESOURCE_KIND,
              id: attestation.sub,
              attr: { trustDomain: settings.trustDomain, requestedRoles: [...(request.roles ?? [])] } satisfies Record<string, Value>,
            },
            actions,
          },
        ],
        includeMeta: true,
      })
      const result = response.results[0]
      trace.policy = result?.meta?.actions[WIT_ISSUE_ACTION]?.matchedPolicy
      effects = result?.actions ?? {}
    } catch (err) {
      throw refuse.unavailable('engine_unavailable', 'the issuance policy could not be evaluated', err)
    }
    if (effects[WIT_ISSUE_ACTION] !== 'EFFECT_ALLOW') throw refuse.unauthorized('policy_denied', 'the issuance policy does not allow a WIT for this workload')
    const granted = candidates.filter((role) => effects[roleAction(role)] === 'EFFECT_ALLOW')
    if (request.roles !== undefined && granted.length !== request.roles.length) {
      throw refuse.scope('role_not_granted', 'the issuance policy does not grant a requested role to this workload')
    }
    return granted
  }
}
