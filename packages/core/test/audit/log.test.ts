import { afterEach, describe, expect, it, vi } from 'vitest'
import { AuditError, ConfigError } from '../../src/errors.js'
import { createAuditLog, functionSink, type AuditRecord, type AuditSink } from '../../src/audit/index.js'
import { decisionRecord, deferred } from './fixtures.js'

const collecting = (): AuditSink & { records: AuditRecord[] } => {
  const records: AuditRecord[] = []
  return { name: 'collect', records, write: (batch) => void records.push(...batch) }
}

describe('createAuditLog', () => {
  it('rejects a configuration without sinks or with a bad buffer size', () => {
    expect(() => createAuditLog({ sinks: [] })).toThrow(ConfigError)
    expect(() => createAuditLog({ sinks: [collecting()], bufferSize: 0 })).toThrow(/audit.bufferSize/)
    expect(() => createAuditLog({ sinks: [collecting(), {} as AuditSink] })).toThrow(/audit.sinks\[1\]/)
  })

  it('returns from record() before any sink runs, then writes in order', async () => {
    const sink = collecting()
    const log = createAuditLog({ sinks: [sink] })
    const records = [decisionRecord(), decisionRecord(), decisionRecord()]
    for (const record of records) expect(log.record(record)).toBe(true)
    expect(sink.records).toHaveLength(0)
    await log.flush()
    expect(sink.records.map((r) => r.callId)).toEqual(records.map((r) => r.callId))
    expect(log.stats()).toMatchObject({ recorded: 3, written: 3, dropped: 0, buffered: 0 })
  })

  it('keeps order across many batches while records keep arriving during writes', async () => {
    const sink = collecting()
    const log = createAuditLog({ sinks: [sink], bufferSize: 10_000, batchSize: 7 })
    const records = Array.from({ length: 5000 }, () => decisionRecord())
    records.slice(0, 3000).forEach((r) => log.record(r))
    // Let a few batches go out, then add more while the queue is half drained.
    await new Promise((resolve) => setImmediate(resolve))
    records.slice(3000).forEach((r) => log.record(r))
    await log.flush()
    expect(sink.records.map((r) => r.callId)).toEqual(records.map((r) => r.callId))
    expect(log.stats()).toMatchObject({ recorded: 5000, written: 5000, buffered: 0 })
  })

  describe('batching window (flushIntervalMs)', () => {
    const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve))
    // Only timeouts are faked: setImmediate stays real, so "the end of this turn" still happens.
    const fakeTimeouts = (): void => void vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] })
    afterEach(() => void vi.useRealTimers())

    it('rejects a window that is negative, fractional or longer than a minute', () => {
      for (const flushIntervalMs of [-1, 1.5, 60_001, Number.NaN]) {
        expect(() => createAuditLog({ sinks: [collecting()], flushIntervalMs })).toThrow(/audit.flushIntervalMs/)
      }
      expect(() => createAuditLog({ sinks: [collecting()], flushIntervalMs: 0 })).not.toThrow()
    })

    it('holds a partial batch until the window closes, then writes it in order', async () => {
      fakeTimeouts()
      const sink = collecting()
      const log = createAuditLog({ sinks: [sink], flushIntervalMs: 50 })
      const records = [decisionRecord(), decisionRecord()]
      records.forEach((r) => log.record(r))
      await turn()
      expect(sink.records).toHaveLength(0)
      vi.advanceTimersByTime(49)
      expect(sink.records).toHaveLength(0)
      vi.advanceTimersByTime(1)
      expect(sink.records.map((r) => r.callId)).toEqual(records.map((r) => r.callId))
      expect(log.stats()).toMatchObject({ written: 2, buffered: 0 })
    })

    it('writes a full batch at the end of the turn without waiting for the window', async () => {
      fakeTimeouts()
      const sink = collecting()
      const log = createAuditLog({ sinks: [sink], batchSize: 3, flushIntervalMs: 60_000 })
      const records = [decisionRecord(), decisionRecord(), decisionRecord(), decisionRecord()]
      records.forEach((r) => log.record(r))
      expect(sink.records).toHaveLength(0)
      await turn()
      // Both batches: once draining starts it empties the queue.
      expect(sink.records.map((r) => r.callId)).toEqual(records.map((r) => r.callId))
      expect(vi.getTimerCount()).toBe(0)
    })

    it('flush() and close() never wait for the window', async () => {
      fakeTimeouts()
      const sink = collecting()
      const log = createAuditLog({ sinks: [sink], flushIntervalMs: 60_000 })
      log.record(decisionRecord())
      await log.flush()
      expect(sink.records).toHaveLength(1)
      expect(vi.getTimerCount()).toBe(0)
      log.record(decisionRecord())
      await log.close()
      expect(sink.records).toHaveLength(2)
    })

    it('has no window by default when failing closed, so a failing sink is noticed after the turn', async () => {
      fakeTimeouts()
      const failing: AuditSink = { name: 'down', write: () => Promise.reject(new Error('disk full')) }
      const log = createAuditLog({ sinks: [failing], failClosed: true, onSinkError: () => {} })
      log.record(decisionRecord())
      expect(log.canWrite()).toBe(true)
      await turn()
      await turn()
      expect(log.canWrite()).toBe(false)
      expect(() => log.assertWritable()).toThrow(AuditError)
      expect(vi.getTimerCount()).toBe(0)
    })

    it('with 0, writes the records of each turn right after that turn', async () => {
      fakeTimeouts()
      const sink = collecting()
      const log = createAuditLog({ sinks: [sink], flushIntervalMs: 0 })
      log.record(decisionRecord())
      expect(sink.records).toHaveLength(0)
      await turn()
      expect(sink.records).toHaveLength(1)
      expect(vi.getTimerCount()).toBe(0)
    })
  })

  it('drops and counts when a slow sink lets the buffer fill, without blocking record()', async () => {
    const gate = deferred()
    const written: string[] = []
    const slow: AuditSink = {
      name: 'slow',
      async write(batch) {
        await gate.promise
        written.push(...batch.map((r) => r.callId))
      },
    }
    const dropped: string[] = []
    const log = createAuditLog({ sinks: [slow], bufferSize: 2, batchSize: 1, onDrop: (r) => dropped.push(r.callId) })
    const records = Array.from({ length: 6 }, () => decisionRecord())
    const accepted = records.map((record) => log.record(record))
    // Nothing has been taken out of the buffer yet: the first two are kept, the rest dropped.
    expect(accepted).toEqual([true, true, false, false, false, false])
    expect(dropped).toEqual(records.slice(2).map((r) => r.callId))
    expect(log.canWrite()).toBe(false)
    expect(log.health()).toMatchObject({ bufferFull: true, writable: false })
    gate.resolve()
    await log.flush()
    expect(written).toEqual(records.slice(0, 2).map((r) => r.callId))
    expect(log.stats()).toMatchObject({ recorded: 2, dropped: 4, written: 2 })
    expect(log.canWrite()).toBe(true)
  })

  it('isolates a failing sink: other sinks still get every record and record() never throws', async () => {
    const good = collecting()
    const errors: unknown[] = []
    const bad = functionSink(() => {
      throw new Error('disk full')
    }, 'bad')
    const log = createAuditLog({ sinks: [bad, good], onSinkError: (e) => errors.push(e) })
    expect(log.record(decisionRecord())).toBe(true)
    await log.flush()
    expect(good.records).toHaveLength(1)
    expect(errors).toHaveLength(1)
    expect(log.health().failingSinks).toEqual(['bad'])
    expect(log.stats().failedRecords).toBe(1)
  })

  it('with failClosed, assertWritable throws AuditError while a sink fails and recovers after a good write', async () => {
    let fail = true
    const flaky = functionSink(() => {
      if (fail) throw new Error('unavailable')
    }, 'flaky')
    const log = createAuditLog({ sinks: [flaky], failClosed: true })
    expect(() => log.assertWritable()).not.toThrow()
    log.record(decisionRecord())
    await log.flush()
    expect(log.canWrite()).toBe(false)
    const error = (() => {
      try {
        log.assertWritable()
      } catch (e) {
        return e
      }
      return undefined
    })()
    expect(error).toBeInstanceOf(AuditError)
    expect((error as AuditError).httpStatus).toBe(503)
    expect((error as AuditError).reason).toBe('audit_unavailable')
    fail = false
    log.record(decisionRecord({ outcome: 'error', reason: 'audit_unavailable' }))
    await log.flush()
    expect(log.canWrite()).toBe(true)
    expect(() => log.assertWritable()).not.toThrow()
  })

  it('without failClosed, assertWritable never throws even when a sink fails', async () => {
    const log = createAuditLog({ sinks: [functionSink(() => Promise.reject(new Error('x')))] })
    log.record(decisionRecord())
    await log.flush()
    expect(log.canWrite()).toBe(false)
    expect(() => log.assertWritable()).not.toThrow()
  })

  it('survives throwing observers', async () => {
    const log = createAuditLog({
      sinks: [functionSink(() => Promise.reject(new Error('x')))],
      bufferSize: 1,
      onDrop: () => {
        throw new Error('observer')
      },
      onSinkError: () => {
        throw new Error('observer')
      },
    })
    expect(log.record(decisionRecord())).toBe(true)
    expect(log.record(decisionRecord())).toBe(false)
    await expect(log.flush()).resolves.toBeUndefined()
  })

  it('drops after close() and closes sinks once', async () => {
    let closes = 0
    const sink: AuditSink = { name: 's', write: () => undefined, close: () => { closes++ } }
    const log = createAuditLog({ sinks: [sink] })
    log.record(decisionRecord())
    await log.close()
    await log.close()
    expect(closes).toBe(1)
    expect(log.record(decisionRecord())).toBe(false)
    expect(log.health().closed).toBe(true)
    expect(log.stats()).toMatchObject({ recorded: 1, written: 1, dropped: 1 })
  })

  it('applies attribute include/exclude to checkResources inputs and can omit them', async () => {
    const sink = collecting()
    const log = createAuditLog({
      sinks: [sink],
      attributes: {
        principal: { exclude: ['act.user.attr.email'] },
        resource: { include: ['department'] },
      },
    })
    const principal = {
      id: 'frontend',
      roles: ['service'],
      attr: { tier: 'web', act: { user: { id: 'alice', attr: { email: 'a@x', department: 'eng' } } } },
    }
    const resource = { kind: 'review', id: 'r1', attr: { department: 'eng', secretNote: 'hidden' } }
    log.record(
      decisionRecord({
        checkResources: { inputs: { principal, resources: [{ resource, actions: ['read'] }] } },
      }),
    )
    await log.flush()
    const inputs = sink.records[0]?.checkResources?.inputs
    expect(inputs?.principal.attr).toEqual({ tier: 'web', act: { user: { id: 'alice', attr: { department: 'eng' } } } })
    expect(inputs?.resources[0]?.resource.attr).toEqual({ department: 'eng' })
    // The caller's objects are untouched.
    expect(principal.attr.act.user.attr.email).toBe('a@x')
    expect(resource.attr.secretNote).toBe('hidden')

    const lean = collecting()
    const leanLog = createAuditLog({ sinks: [lean], omitCheckResources: true })
    leanLog.record(decisionRecord({ checkResources: { inputs: { principal, resources: [] } }, auditTrail: { effectivePolicies: {} } }))
    await leanLog.flush()
    expect(lean.records[0]).not.toHaveProperty('checkResources')
    expect(lean.records[0]).not.toHaveProperty('auditTrail')
  })
})
