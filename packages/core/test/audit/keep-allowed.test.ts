import { randomUUID } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { createAuditLog, functionSink, type AuditRecord } from '../../src/audit/index.js'
import { decisionRecord } from './fixtures.js'

async function written(keepAllowed: boolean | number | undefined, records: readonly AuditRecord[]): Promise<{ kept: AuditRecord[]; skipped: number }> {
  const kept: AuditRecord[] = []
  const log = createAuditLog({ sinks: [functionSink((r) => void kept.push(r))], keepAllowed })
  for (const record of records) expect(log.record(record)).toBe(true)
  await log.flush()
  return { kept, skipped: log.stats().skipped }
}

const mixed = (): AuditRecord[] => [
  decisionRecord(),
  decisionRecord({ outcome: 'denied', effect: 'EFFECT_DENY', reason: 'denied' }),
  decisionRecord({ outcome: 'error', effect: undefined, reason: 'pdp_timeout' }),
  decisionRecord({ kind: 'auth_failure', outcome: 'unauthenticated', reason: 'token_expired' }),
  decisionRecord({ shadow: { candidateDigest: 'c', differences: [{ resource: { kind: 'review', id: 'r1' }, action: 'read', live: 'EFFECT_ALLOW', candidate: 'EFFECT_DENY' }] } }),
  decisionRecord(),
]

describe('keepAllowed', () => {
  it('keeps every record by default', async () => {
    const { kept, skipped } = await written(undefined, mixed())
    expect(kept).toHaveLength(6)
    expect(skipped).toBe(0)
  })

  it('drops plain allow records but always keeps denials, errors, authentication failures and shadow disagreements', async () => {
    const { kept, skipped } = await written(false, mixed())
    expect(kept.map((r) => r.outcome)).toEqual(['denied', 'error', 'unauthenticated', 'allowed'])
    expect(kept[3]?.shadow).toBeDefined()
    expect(skipped).toBe(2)
  })

  it('samples allow records by decision id: the same id gets the same answer in every log', async () => {
    const allows = Array.from({ length: 2000 }, () => decisionRecord({ callId: randomUUID() }))
    const first = await written(0.25, allows)
    const second = await written(0.25, allows)
    expect(first.kept.map((r) => r.callId)).toEqual(second.kept.map((r) => r.callId))
    // Some kept, some not (2000 random ids: the chance of either extreme is nil).
    expect(first.kept.length).toBeGreaterThan(0)
    expect(first.kept.length).toBeLessThan(allows.length)
    expect(first.kept.length + first.skipped).toBe(allows.length)
    // A larger share keeps a superset.
    const wider = await written(0.5, allows)
    const widerIds = new Set(wider.kept.map((r) => r.callId))
    expect(first.kept.every((r) => widerIds.has(r.callId))).toBe(true)
    expect(wider.kept.length).toBeGreaterThan(first.kept.length)
    const denials = allows.map((r) => ({ ...r, outcome: 'denied' as const }))
    expect((await written(0.25, denials)).kept).toHaveLength(denials.length)
  })

  it('refuses a share outside 0 to 1', () => {
    for (const bad of [-0.1, 1.5, Number.NaN, '0.5' as unknown as number]) {
      expect(() => createAuditLog({ sinks: [functionSink(() => {})], keepAllowed: bad })).toThrow(/keepAllowed/)
    }
  })
})
