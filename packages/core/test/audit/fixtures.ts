import type { AuditRecord } from '../../src/audit/index.js'

let seq = 0

/** A decision record with a unique call id. */
export function decisionRecord(overrides: Partial<AuditRecord> = {}): AuditRecord {
  seq++
  return {
    kind: 'decision',
    callId: `call-${seq}`,
    timestamp: new Date(0).toISOString(),
    service: 'review-service',
    workloadId: 'frontend',
    actorId: 'alice',
    outcome: 'allowed',
    effect: 'EFFECT_ALLOW',
    resource: { kind: 'review', id: 'r1' },
    action: 'read',
    policy: 'resource.review.vdefault',
    scope: '',
    policyDigest: 'abc',
    ...overrides,
  }
}

/** A promise plus its resolve function. */
export function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void
  const promise = new Promise<void>((r) => (resolve = r))
  return { promise, resolve }
}
