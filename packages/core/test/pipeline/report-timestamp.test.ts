import { describe, expect, it } from 'vitest'
import { auditRecordOf } from '../../src/pipeline/report.js'
import type { DecisionEngine } from '../../src/types.js'

const engine = { kind: 'embedded', policyDigest: 'd', checkResources: async () => ({ requestId: '', results: [] }) } as DecisionEngine

const timestampAt = (startedAt: number): string => auditRecordOf({ callId: 'c', startedAt, method: 'GET' }, 's', engine, undefined).timestamp

describe('audit record timestamps', () => {
  it('match toISOString for every millisecond, within a second and across seconds', () => {
    const base = Date.UTC(2026, 10, 23, 18, 59, 59)
    const samples = [0, 1, 9, 10, 99, 100, 998, 999, 1000, 1001, 1999, 2000, 61_000, 3_600_123]
    for (const offset of samples) expect(timestampAt(base + offset)).toBe(new Date(base + offset).toISOString())
    // Back in time (a clock that moved backwards) and far away.
    for (const ms of [base - 1, base - 1001, 0, -1, 253_402_300_799_999, 1_700_000_000_123.5]) {
      expect(timestampAt(ms)).toBe(new Date(ms).toISOString())
    }
  })
})
