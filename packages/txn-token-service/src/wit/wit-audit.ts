/**
 * The audit record and span of every WIT issuance, granted or refused, in the shape the Txn-Token
 * exchanges use: resource kind `workload_identity`, action `issue`, the workload identifier, the
 * attestation's kind and authority. Tokens appear only as digests.
 */
import { randomUUID } from 'node:crypto'
import type { AuditRecord } from '@meshguard/core'
import type { AuthorizationSpan } from '@meshguard/core/telemetry'
import type { TokenExchangeError } from '../errors.js'
import { refusalOutcome, type AuditTarget } from '../exchange-audit.js'
import { tokenDigest } from '../plain-data.js'
import type { Attestation } from './attestation.js'
import { WIT_ISSUE_ACTION, WIT_RESOURCE_KIND } from './wit-format.js'

/** What the record of one issuance says; filled in as the issuance goes. */
export interface WitTrace {
  attestationType: string | undefined
  attestationToken: string | undefined
  attestation: Attestation | undefined
  roles: readonly string[] | undefined
  policy: string | undefined
  /** The issued WIT's `jti`. */
  witId: string | undefined
}

/** A started issuance: its span and audit id. */
interface IssuanceSpan {
  readonly callId: string
  readonly span: AuthorizationSpan
}

/** Writes one record and ends one span per issuance request. */
export class WitAudit {
  constructor(private readonly target: AuditTarget) {}

  /** A fresh trace. */
  static trace(): WitTrace {
    return { attestationType: undefined, attestationToken: undefined, attestation: undefined, roles: undefined, policy: undefined, witId: undefined }
  }

  start(): IssuanceSpan {
    const callId = randomUUID()
    return { callId, span: this.target.telemetry.startAuthorization({ resourceKind: WIT_RESOURCE_KIND, action: WIT_ISSUE_ACTION, callId, engine: this.target.engineKind }) }
  }

  issued(trace: WitTrace, started: IssuanceSpan): void {
    started.span.end({ decision: 'allowed', action: WIT_ISSUE_ACTION, policy: trace.policy, workloadId: trace.attestation?.sub, policyDigest: this.target.policyDigest() })
    this.record(trace, started, { outcome: 'allowed', effect: 'EFFECT_ALLOW' })
  }

  refused(trace: WitTrace, started: IssuanceSpan, error: TokenExchangeError): void {
    // A bad attestation or proof is a failed authentication, as a bad client assertion is.
    const outcome = /^(attestation|proof|cnf_key|client_assertion)_/.test(error.reason) ? 'unauthenticated' : refusalOutcome(error)
    started.span.end({
      decision: outcome,
      action: WIT_ISSUE_ACTION,
      reason: error.reason,
      errorCode: error.code,
      policy: trace.policy,
      workloadId: trace.attestation?.sub,
      policyDigest: this.target.policyDigest(),
    })
    this.record(trace, started, { outcome, reason: error.reason, errorCode: error.code, ...(outcome === 'denied' ? { effect: 'EFFECT_DENY' as const } : {}) })
  }

  private record(trace: WitTrace, started: IssuanceSpan, result: Pick<AuditRecord, 'outcome' | 'reason' | 'errorCode' | 'effect'>): void {
    if (this.target.log === undefined) return
    const metadata: Record<string, string> = { grant: 'wit' }
    if (trace.attestationType !== undefined) metadata['attestation_type'] = trace.attestationType
    if (trace.attestation !== undefined) metadata['attestation_authority'] = trace.attestation.authority
    if (trace.roles !== undefined) metadata['roles'] = trace.roles.join(' ')
    if (trace.witId !== undefined) metadata['wit_jti'] = trace.witId
    const sub = trace.attestation?.sub
    this.target.log.record({
      kind: result.outcome === 'unauthenticated' ? 'auth_failure' : 'decision',
      callId: started.callId,
      timestamp: new Date().toISOString(),
      service: this.target.service,
      workloadId: sub,
      traceId: started.span.traceId,
      resource: { kind: WIT_RESOURCE_KIND, id: sub ?? 'unknown' },
      action: WIT_ISSUE_ACTION,
      policy: trace.policy,
      policyDigest: this.target.policyDigest(),
      engine: this.target.engineKind,
      tokenDigests: { workload: trace.attestationToken === undefined ? undefined : tokenDigest(trace.attestationToken) },
      metadata,
      ...result,
    })
  }
}
