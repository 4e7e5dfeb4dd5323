/**
 * A sink whose write outlives writeTimeoutMs: it is never called again before that write settles,
 * its records are in doubt (not failed), later records queue within the bound, and a late outcome
 * is counted as what it was. Time is faked (the watchdog interval and performance.now), so nothing
 * here depends on how fast the machine is.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { AuditError } from '../../src/errors.js'
import { createAuditLog, type AuditLog, type AuditRecord, type AuditSink } from '../../src/audit/index.js'
import { decisionRecord } from './fixtures.js'

const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve))

/** A sink whose writes settle only when the test says so, and that records any overlapping call. */
function controlledSink(name = 'controlled') {
  const calls: Array<{ kind: 'write' | 'flush' | 'close'; ids: string[]; settle: (error?: Error) => void }> = []
  let running = 0
  let overlaps = 0
  const start = (kind: 'write' | 'flush' | 'close', records: readonly AuditRecord[] = []): Promise<void> => {
    if (running > 0) overlaps++
    running++
    return new Promise<void>((resolve, reject) => {
      calls.push({
        kind,
        ids: records.map((r) => r.callId),
        settle: (error) => {
          running--
          if (error) reject(error)
          else resolve()
        },
      })
    })
  }
  const sink: AuditSink = {
    name,
    write: (records) => start('write', records),
    flush: () => start('flush'),
    close: () => start('close'),
  }
  return {
    sink,
    calls,
    overlaps: () => overlaps,
    writes: () => calls.filter((c) => c.kind === 'write'),
    last: () => calls[calls.length - 1] as (typeof calls)[number],
  }
}

const collecting = (): AuditSink & { ids: string[] } => {
  const ids: string[] = []
  return { name: 'collect', ids, write: (batch) => void ids.push(...batch.map((r) => r.callId)) }
}

/** recorded = written + failed + inDoubt + shed + pending, for every sink. */
function expectAccountedFor(log: AuditLog): void {
  const stats = log.stats()
  for (const sink of stats.sinks) {
    expect(sink.written + sink.failed + sink.inDoubt + sink.shed + sink.pending, sink.name).toBe(stats.recorded)
  }
}

describe('a sink write that outlives writeTimeoutMs', () => {
  beforeEach(() => void vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval', 'performance'] }))
  afterEach(() => void vi.useRealTimers())

  it('is never followed by another call to that sink before it settles, and its records are in doubt, not failed', async () => {
    const hung = controlledSink('hung')
    const good = collecting()
    const errors: string[] = []
    const log = createAuditLog({
      sinks: [hung.sink, good],
      writeTimeoutMs: 100,
      flushIntervalMs: 0,
      onSinkError: (error) => errors.push(String(error)),
    })
    const first = [decisionRecord(), decisionRecord()]
    first.forEach((r) => log.record(r))
    await turn()
    expect(hung.writes()).toHaveLength(1)

    vi.advanceTimersByTime(150)
    expect(errors).toHaveLength(1)
    expect(errors[0]).toMatch(/did not finish a write of 2 records in 100 ms/)
    expect(log.stats()).toMatchObject({ inDoubt: 2, failedRecords: 0 })
    expect(log.health()).toMatchObject({ stalledSinks: ['hung'], failingSinks: ['hung'], writable: false })

    const later = Array.from({ length: 5 }, () => decisionRecord())
    for (const record of later) {
      log.record(record)
      await turn()
      vi.advanceTimersByTime(1000)
    }
    // flush() does not wait for the stalled sink and never calls its flush() while the write runs.
    await log.flush()
    expect(hung.calls.map((c) => c.kind)).toEqual(['write'])
    expect(good.ids).toEqual([...first, ...later].map((r) => r.callId))
    expect(errors).toHaveLength(1)
    expect(log.stats().sinks[0]).toMatchObject({ name: 'hung', written: 0, failed: 0, inDoubt: 2, pending: 5 })
    expectAccountedFor(log)
  })

  it('is counted written when it completes late, and the queued records follow in order', async () => {
    const slow = controlledSink()
    const log = createAuditLog({ sinks: [slow.sink], writeTimeoutMs: 100, flushIntervalMs: 0, batchSize: 2, onSinkError: () => {} })
    const records = Array.from({ length: 7 }, () => decisionRecord())
    records.slice(0, 2).forEach((r) => log.record(r))
    await turn()
    vi.advanceTimersByTime(150)
    records.slice(2).forEach((r) => log.record(r))
    await turn()
    expect(slow.writes()).toHaveLength(1)
    expect(log.stats()).toMatchObject({ inDoubt: 2, written: 0 })

    slow.last().settle()
    await turn()
    expect(log.stats()).toMatchObject({ inDoubt: 0, written: 2, failedRecords: 0 })
    // Healthy again once the late write succeeded.
    expect(log.health()).toMatchObject({ stalledSinks: [], failingSinks: [] })
    while (log.stats().sinks[0]?.pending !== 0) {
      slow.last().settle()
      await turn()
    }
    expect(slow.writes().flatMap((c) => c.ids)).toEqual(records.map((r) => r.callId))
    expect(slow.overlaps()).toBe(0)
    expect(log.stats()).toMatchObject({ recorded: 7, written: 7, failedRecords: 0, inDoubt: 0 })
    expectAccountedFor(log)
  })

  it('is counted failed when it rejects late', async () => {
    const slow = controlledSink()
    const log = createAuditLog({ sinks: [slow.sink], writeTimeoutMs: 100, flushIntervalMs: 0, onSinkError: () => {} })
    log.record(decisionRecord())
    await turn()
    vi.advanceTimersByTime(150)
    slow.last().settle(new Error('disk gone'))
    await turn()
    expect(log.stats()).toMatchObject({ written: 0, failedRecords: 1, inDoubt: 0 })
    expect(log.health().failingSinks).toEqual([slow.sink.name])
    expectAccountedFor(log)
  })

  it('queues later records within bufferSize: a lone stalled sink makes record() drop, a second sink keeps getting everything', async () => {
    const hung = controlledSink('hung')
    const alone = createAuditLog({ sinks: [hung.sink], writeTimeoutMs: 100, bufferSize: 3, flushIntervalMs: 0, onSinkError: () => {} })
    alone.record(decisionRecord())
    await turn()
    vi.advanceTimersByTime(150)
    const accepted = Array.from({ length: 5 }, () => alone.record(decisionRecord()))
    expect(accepted).toEqual([true, true, true, false, false])
    expect(alone.stats()).toMatchObject({ recorded: 4, dropped: 2, inDoubt: 1, buffered: 3 })
    expectAccountedFor(alone)

    const stalled = controlledSink('stalled')
    const good = collecting()
    const pair = createAuditLog({ sinks: [stalled.sink, good], writeTimeoutMs: 100, bufferSize: 3, flushIntervalMs: 0, onSinkError: () => {} })
    pair.record(decisionRecord())
    await turn()
    vi.advanceTimersByTime(150)
    for (let i = 0; i < 5; i++) {
      expect(pair.record(decisionRecord())).toBe(true)
      await turn()
    }
    expect(good.ids).toHaveLength(6)
    expect(pair.stats()).toMatchObject({ recorded: 6, dropped: 0 })
    expect(pair.stats().sinks[0]).toMatchObject({ inDoubt: 1, pending: 3, shed: 2 })
    expectAccountedFor(pair)
  })

  it('close() closes a stalled sink only after its write settled and its queue was written', async () => {
    const hung = controlledSink()
    const log = createAuditLog({ sinks: [hung.sink], writeTimeoutMs: 100, flushIntervalMs: 0, onSinkError: () => {} })
    log.record(decisionRecord())
    await turn()
    vi.advanceTimersByTime(150)
    log.record(decisionRecord())
    await log.close()
    expect(hung.calls.map((c) => c.kind)).toEqual(['write'])
    expect(log.record(decisionRecord())).toBe(false)
    hung.last().settle()
    await turn()
    hung.last().settle()
    await turn()
    expect(hung.calls.map((c) => c.kind)).toEqual(['write', 'write', 'close'])
    expect(hung.overlaps()).toBe(0)
    expect(log.stats()).toMatchObject({ recorded: 2, written: 2, dropped: 1 })
  })
})

describe('fail-closed bounds on unconfirmed records', () => {
  beforeEach(() => void vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval', 'performance'] }))
  afterEach(() => void vi.useRealTimers())

  it('refuses once a write has been running maxUnconfirmedMs, long before writeTimeoutMs, and serves again when it completes', async () => {
    const slow = controlledSink()
    const log = createAuditLog({ sinks: [slow.sink], failClosed: true, maxUnconfirmedMs: 500, writeTimeoutMs: 10_000 })
    log.record(decisionRecord())
    await turn()
    vi.advanceTimersByTime(499)
    expect(() => log.assertWritable()).not.toThrow()
    vi.advanceTimersByTime(1)
    expect(log.canWrite()).toBe(false)
    expect(() => log.assertWritable()).toThrow(AuditError)
    expect(log.health().stalledSinks).toEqual([])
    slow.last().settle()
    await turn()
    expect(() => log.assertWritable()).not.toThrow()
  })

  it('refuses while more than maxUnconfirmedRecords are queued or being written', async () => {
    const slow = controlledSink()
    const log = createAuditLog({ sinks: [slow.sink], failClosed: true, maxUnconfirmedRecords: 3 })
    for (let i = 0; i < 3; i++) log.record(decisionRecord())
    await turn()
    expect(log.canWrite()).toBe(true)
    log.record(decisionRecord())
    expect(log.canWrite()).toBe(false)
    slow.last().settle()
    await turn()
    // The fourth record is now being written: one unconfirmed.
    expect(log.canWrite()).toBe(true)
  })

  it('rejects bounds that are not positive integers', () => {
    const sink = collecting()
    expect(() => createAuditLog({ sinks: [sink], maxUnconfirmedMs: 0 })).toThrow(/audit.maxUnconfirmedMs/)
    expect(() => createAuditLog({ sinks: [sink], maxUnconfirmedRecords: 1.5 })).toThrow(/audit.maxUnconfirmedRecords/)
  })
})
