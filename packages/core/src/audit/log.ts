import { AuditError, ConfigError } from '../errors.js'
import type { Telemetry } from '../telemetry/index.js'
import type { AuditRecord } from './record.js'
import { filterCheckInputs, type AuditAttributeConfig } from './redact.js'
import type { AuditLogStats, AuditSink } from './sink.js'

/** Options of {@link createAuditLog}. */
export interface AuditLogOptions {
  /** Where records go. At least one. */
  sinks: readonly AuditSink[]
  /** Records held while sinks catch up; beyond this `record()` drops and counts. @defaultValue 4096 */
  bufferSize?: number | undefined
  /** Records handed to a sink per `write` call. @defaultValue 256 */
  batchSize?: number | undefined
  /**
   * How long a record may wait for its batch to fill before the batch is written anyway (ms). A full
   * batch is written at once; `flush()` and `close()` never wait. 0 writes every event-loop turn's
   * records right after that turn, which costs a scheduled callback per turn.
   * @defaultValue 20, or 0 with `failClosed` (a failing sink is then noticed after the turn that wrote to it)
   */
  flushIntervalMs?: number | undefined
  /**
   * A sink write that has not settled after this long counts as failed, so one hung sink cannot
   * stall the others forever. @defaultValue 10000
   */
  writeTimeoutMs?: number | undefined
  /**
   * When true the service must not serve a request it cannot audit: {@link AuditLog.canWrite}
   * turns false while the buffer is full or a sink's last write failed, and the guard pipeline
   * answers 503 (`AuditError`, reason `audit_unavailable`). @defaultValue false
   */
  failClosed?: boolean | undefined
  /** Attribute include/exclude applied to `checkResources.inputs` of every record. */
  attributes?: AuditAttributeConfig | undefined
  /** Drop the Cerbos-style `checkResources`/`auditTrail` fields (smaller records). @defaultValue false */
  omitCheckResources?: boolean | undefined
  /** Counts drops in the `meshguard.audit.dropped` metric. */
  telemetry?: Pick<Telemetry, 'recordAuditDrop'> | undefined
  /** Called for every record dropped. */
  onDrop?: ((record: AuditRecord) => void) | undefined
  /** Called when a sink fails; never allowed to throw into the log. */
  onSinkError?: ((error: unknown, sink: AuditSink) => void) | undefined
}

/** Health of an audit log, for health endpoints and the fail-closed check. */
export interface AuditHealth {
  /** Whether a new record can be accepted and written right now. */
  writable: boolean
  /** Sinks whose last write failed. */
  failingSinks: string[]
  /** Whether the buffer is full. */
  bufferFull: boolean
  /** Whether `close()` was called. */
  closed: boolean
}

/**
 * The non-blocking audit log. `record()` only copies into a bounded buffer; sinks are written in
 * the background in arrival order.
 */
export interface AuditLog {
  /** Whether the log was configured to fail closed. */
  readonly failClosed: boolean
  /**
   * Queues a record without blocking. Returns false when it was dropped (buffer full or closed);
   * drops are counted and reported through `onDrop`. Never throws.
   */
  record(record: AuditRecord): boolean
  /** Synchronous health check: buffer has room, no sink is failing, not closed. */
  canWrite(): boolean
  /** Throws `AuditError` (503, `audit_unavailable`) when `failClosed` is set and `canWrite()` is false. */
  assertWritable(): void
  /** Detailed health state. */
  health(): AuditHealth
  /** Counters. */
  stats(): AuditLogStats
  /** Resolves once everything recorded so far was handed to every sink and sinks flushed. */
  flush(): Promise<void>
  /** Flushes, then closes every sink. Later records are dropped. */
  close(): Promise<void>
}

const positiveInt = (value: number | undefined, fallback: number, option: string): number => {
  if (value === undefined) return fallback
  if (!Number.isInteger(value) || value < 1) throw new ConfigError(option, 'must be a positive integer')
  return value
}

const ignore = (): void => {}

/** Never let a user callback throw into the log. */
function safely(fn: (() => void) | undefined): void {
  try {
    fn?.()
  } catch {
    // A throwing observer must not break auditing.
  }
}

/**
 * Creates an audit log over the given sinks.
 *
 * @example
 * ```ts
 * const audit = createAuditLog({ sinks: [stdoutSink()], failClosed: true })
 * ```
 */
export function createAuditLog(options: AuditLogOptions): AuditLog {
  if (!Array.isArray(options.sinks) || options.sinks.length === 0) {
    throw new ConfigError('audit.sinks', 'at least one sink is required')
  }
  options.sinks.forEach((sink, index) => {
    if (typeof sink?.write !== 'function') throw new ConfigError(`audit.sinks[${index}]`, 'must be an AuditSink with write()')
  })
  const sinks = [...options.sinks]
  const bufferSize = positiveInt(options.bufferSize, 4096, 'audit.bufferSize')
  const batchSize = positiveInt(options.batchSize, 256, 'audit.batchSize')
  const writeTimeoutMs = positiveInt(options.writeTimeoutMs, 10_000, 'audit.writeTimeoutMs')
  const failClosed = options.failClosed === true
  // Failing closed, a failing sink must be noticed as soon as possible: no window by default.
  const flushIntervalMs = options.flushIntervalMs ?? (failClosed ? 0 : 20)
  if (!Number.isInteger(flushIntervalMs) || flushIntervalMs < 0 || flushIntervalMs > 60_000) {
    throw new ConfigError('audit.flushIntervalMs', 'must be an integer from 0 to 60000')
  }

  // A FIFO as an array plus a read index, compacted now and then: taking a batch is O(batch).
  const buffer: AuditRecord[] = []
  let head = 0
  const pending = (): number => buffer.length - head
  const takeBatch = (): AuditRecord[] => {
    const batch = buffer.slice(head, head + batchSize)
    head += batch.length
    if (head === buffer.length) {
      buffer.length = 0
      head = 0
    } else if (head >= 1024 && head * 2 >= buffer.length) {
      buffer.splice(0, head)
      head = 0
    }
    return batch
  }
  const failing = new Set<AuditSink>()
  const stats = { recorded: 0, dropped: 0, written: 0, failedRecords: 0 }
  let closed = false

  const prepare = (record: AuditRecord): AuditRecord => {
    if (options.omitCheckResources) {
      const { checkResources: _io, auditTrail: _trail, ...rest } = record
      return rest
    }
    if (!record.checkResources || !options.attributes) return record
    return {
      ...record,
      checkResources: {
        ...record.checkResources,
        inputs: filterCheckInputs(record.checkResources.inputs, options.attributes),
      },
    }
  }

  const succeeded = (sink: AuditSink, batch: readonly AuditRecord[]): void => {
    failing.delete(sink)
    stats.written += batch.length
  }
  const failed = (sink: AuditSink, batch: readonly AuditRecord[], error: unknown): void => {
    failing.add(sink)
    stats.failedRecords += batch.length
    safely(() => options.onSinkError?.(error, sink))
  }

  /**
   * One watchdog for every write in flight, instead of a timer per batch: a busy service writes a
   * batch per event-loop turn, and a timer each time (with its async hooks) cost more than the write.
   * It ticks at most once a second (unref'd, so it never keeps the process alive) while the log is open.
   */
  const inFlightWrites = new Set<{ readonly startedAt: number; readonly expire: () => void }>()
  let watchdog: ReturnType<typeof setInterval> | undefined
  const expireStalledWrites = (): void => {
    const now = performance.now()
    for (const write of inFlightWrites) if (now - write.startedAt >= writeTimeoutMs) write.expire()
  }
  const watch = (write: { readonly startedAt: number; readonly expire: () => void }): void => {
    inFlightWrites.add(write)
    if (watchdog === undefined) {
      watchdog = setInterval(expireStalledWrites, Math.min(writeTimeoutMs, 1000))
      watchdog.unref?.()
    }
  }

  /**
   * Hands a batch to one sink. A sink that answers synchronously costs no promise; a pending write
   * is watched for the timeout, and settles at most once.
   */
  const writeBatch = (sink: AuditSink, batch: readonly AuditRecord[]): Promise<void> | undefined => {
    let result: void | Promise<void>
    try {
      result = sink.write(batch)
    } catch (error) {
      failed(sink, batch, error)
      return undefined
    }
    if (typeof (result as Promise<void> | undefined)?.then !== 'function') {
      succeeded(sink, batch)
      return undefined
    }
    return new Promise<void>((resolve) => {
      let settled = false
      const settle = (error?: unknown, isError = false): void => {
        if (settled) return
        settled = true
        inFlightWrites.delete(write)
        if (isError) failed(sink, batch, error)
        else succeeded(sink, batch)
        resolve()
      }
      const write = {
        startedAt: performance.now(),
        expire: () => settle(new Error(`audit sink ${sink.name} did not finish a write in ${writeTimeoutMs} ms`), true),
      }
      watch(write)
      ;(result as Promise<void>).then(
        () => settle(),
        (error: unknown) => settle(error, true),
      )
    })
  }

  /** Hands a batch to every sink; a promise only when some sink writes asynchronously. */
  const writeAll = (batch: readonly AuditRecord[]): Promise<void> | undefined => {
    if (sinks.length === 1) return writeBatch(sinks[0] as AuditSink, batch)
    let writes: Promise<void>[] | undefined
    for (const sink of sinks) {
      const writing = writeBatch(sink, batch)
      if (writing !== undefined) (writes ??= []).push(writing)
    }
    return writes === undefined ? undefined : Promise.all(writes).then(ignore)
  }

  // Draining: records wait up to flushIntervalMs for a full batch (one timer per window, not a
  // callback per event-loop turn: under load the per-turn callback and its async hooks cost more
  // than the write), a full batch goes at the end of the turn, then batches go back to back; an
  // asynchronous write is awaited before the next one (order is kept). record() always returns
  // before any sink runs.
  let timer: ReturnType<typeof setTimeout> | undefined
  let immediate = false
  let writing: Promise<void> | undefined
  let idleWaiters: Array<() => void> = []

  const settleIdle = (): void => {
    if (timer !== undefined || immediate || writing !== undefined || pending() > 0 || idleWaiters.length === 0) return
    const waiters = idleWaiters
    idleWaiters = []
    for (const resolve of waiters) resolve()
  }

  const pump = (): void => {
    immediate = false
    if (timer !== undefined) {
      clearTimeout(timer)
      timer = undefined
    }
    while (pending() > 0) {
      const inFlight = writeAll(takeBatch())
      if (inFlight !== undefined) {
        writing = inFlight.then(() => {
          writing = undefined
          pump()
        })
        return
      }
    }
    settleIdle()
  }

  /** Drains at the end of this turn (a write in flight drains everything when it settles). */
  const drainSoon = (): void => {
    if (immediate || writing !== undefined) return
    immediate = true
    setImmediate(pump)
  }

  const schedule = (): void => {
    if (immediate || writing !== undefined) return
    if (flushIntervalMs === 0 || pending() >= batchSize) drainSoon()
    else timer ??= setTimeout(pump, flushIntervalMs)
  }

  /** Resolves once everything recorded so far has been handed to every sink. */
  const drained = (): Promise<void> =>
    new Promise<void>((resolve) => {
      idleWaiters.push(resolve)
      // Nobody waits for a batch to fill once a flush is asked for.
      if (timer !== undefined) drainSoon()
      settleIdle()
    })

  const drop = (record: AuditRecord): false => {
    stats.dropped++
    safely(() => options.telemetry?.recordAuditDrop(1))
    safely(() => options.onDrop?.(record))
    return false
  }

  const log: AuditLog = {
    failClosed,
    record(record) {
      if (closed || pending() >= bufferSize) return drop(record)
      try {
        buffer.push(prepare(record))
      } catch {
        return drop(record)
      }
      stats.recorded++
      schedule()
      return true
    },
    canWrite() {
      return !closed && pending() < bufferSize && failing.size === 0
    },
    assertWritable() {
      if (failClosed && !log.canWrite()) {
        throw new AuditError('the audit log cannot be written and the service is configured to fail closed')
      }
    },
    health() {
      return {
        writable: log.canWrite(),
        failingSinks: [...failing].map((sink) => sink.name),
        bufferFull: pending() >= bufferSize,
        closed,
      }
    },
    stats() {
      return { ...stats, buffered: pending() }
    },
    async flush() {
      await drained()
      await Promise.all(
        sinks.map(async (sink) => {
          try {
            await sink.flush?.()
          } catch (error) {
            failing.add(sink)
            safely(() => options.onSinkError?.(error, sink))
          }
        }),
      )
    },
    async close() {
      if (closed) return
      await log.flush()
      closed = true
      if (watchdog !== undefined) clearInterval(watchdog)
      await Promise.all(
        sinks.map(async (sink) => {
          try {
            await sink.close?.()
          } catch (error) {
            safely(() => options.onSinkError?.(error, sink))
          }
        }),
      )
    },
  }
  return log
}
