/**
 * The audit record and span of every exchange, issued or refused, in the shape the guard pipeline
 * writes (core's audit log and telemetry): resource kind `txn_token`, action `issue`/`replace`,
 * the requesting workload, the subject, the transaction. Tokens appear only as digests.
 */
import { randomUUID } from 'node:crypto'
import type { AuditLog, AuditRecord, Telemetry } from '@meshguard/core'
import type { AuthorizationSpan } from '@meshguard/core/telemetry'
import { toTokenExchangeError, type TokenExchangeError } from './errors.js'
import type { ExchangeTrace } from './exchange.js'
import { tokenDigest } from './plain-data.js'
import { TXN_TOKEN_RESOURCE_KIND } from './token-format.js'

/** A started exchange: its span and audit id. */
export interface ExchangeSpan {
  readonly callId: string
  readonly span: AuthorizationSpan
}

/** The audit outcome of a refusal: bad credentials, a dependency down, or a denial. */
export function refusalOutcome(error: TokenExchangeError): 'unauthenticated' | 'error' | 'denied' {
  return error.oauthError === 'invalid_client' ? 'unauthenticated' : error.oauthError === 'temporarily_unavailable' ? 'error' : 'denied'
}

/** Where records and spans go: shared by the token exchange and the WIT issuer of one service. */
export interface AuditTarget {
  readonly service: string
  readonly telemetry: Telemetry
  readonly log: AuditLog | undefined
  readonly engineKind: 'embedded' | 'remote'
  readonly policyDigest: () => string | undefined
}

/**
 * Runs one audited operation: `issued` once it succeeded, `refused` with its failure as a
 * `TokenExchangeError` (rethrown: nothing else ever leaves).
 */
export async function auditedRun<T>(work: () => Promise<T>, issued: () => void, refused: (error: TokenExchangeError) => void): Promise<T> {
  try {
    const result = await work()
    issued()
    return result
  } catch (err) {
    const refusal = toTokenExchangeError(err)
    refused(refusal)
    throw refusal
  }
}

/** Writes one record and ends one span per exchange. */
export class ExchangeAudit {
  constructor(private readonly target: AuditTarget) {}

  start(trace: ExchangeTrace): ExchangeSpan {
    const callId = randomUUID()
    const span = this.target.telemetry.startAuthorization({ resourceKind: TXN_TOKEN_RESOURCE_KIND, action: trace.action, callId, engine: this.target.engineKind })
    return { callId, span }
  }

  issued(trace: ExchangeTrace, started: ExchangeSpan): void {
    started.span.end({
      decision: 'allowed',
      action: trace.action,
      policy: trace.policy,
      workloadId: trace.requester?.workload.id,
      transactionId: trace.txn,
      policyDigest: this.target.policyDigest(),
    })
    this.record(trace, started, { outcome: 'allowed', effect: 'EFFECT_ALLOW' })
  }

  refused(trace: ExchangeTrace, started: ExchangeSpan, error: TokenExchangeError): void {
    const outcome = refusalOutcome(error)
    started.span.end({
      decision: outcome,
      action: trace.action,
      reason: error.reason,
      errorCode: error.code,
      policy: trace.policy,
      workloadId: trace.requester?.workload.id,
      transactionId: trace.txn,
      policyDigest: this.target.policyDigest(),
    })
    this.record(trace, started, {
      outcome,
      reason: error.reason,
      errorCode: error.code,
      ...(outcome === 'denied' ? { effect: 'EFFECT_DENY' as const } : {}),
    })
  }

  private record(trace: ExchangeTrace, started: ExchangeSpan, result: Pick<AuditRecord, 'outcome' | 'reason' | 'errorCode' | 'effect'>): void {
    if (this.target.log === undefined) return
    const metadata: Record<string, string> = { grant: 'token-exchange' }
    if (trace.subjectTokenKind !== undefined) metadata['subject_token_type'] = trace.subjectTokenKind
    if (trace.scope !== undefined) metadata['scope'] = trace.scope.join(' ')
    if (trace.subject !== undefined) metadata['subject_issuer'] = trace.subject.issuer
    const record: AuditRecord = {
      kind: result.outcome === 'unauthenticated' ? 'auth_failure' : 'decision',
      callId: started.callId,
      timestamp: new Date().toISOString(),
      service: this.target.service,
      workloadId: trace.requester?.workload.id,
      actorId: trace.subject?.id,
      transactionId: trace.txn,
      traceId: started.span.traceId,
      resource: { kind: TXN_TOKEN_RESOURCE_KIND, id: trace.txn ?? 'new' },
      action: trace.action,
      policy: trace.policy,
      policyDigest: this.target.policyDigest(),
      engine: this.target.engineKind,
      tokenDigests: {
        workload: trace.assertion === undefined ? undefined : tokenDigest(trace.assertion),
        actor: trace.subjectToken === undefined ? undefined : tokenDigest(trace.subjectToken),
      },
      metadata,
      ...result,
    }
    this.target.log.record(record)
  }
}
