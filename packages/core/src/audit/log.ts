import { AuditError, ConfigError } from '../errors.js'
import type { Telemetry } from '../telemetry/index.js'
import type { AuditRecord } from './record.js'
import { keepPolicyOf, type KeepAllowed } from './keep-policy.js'
import { filterCheckInputs, maskExplanation, type AuditAttributeConfig } from './redact.js'
import type { AuditLogStats, AuditSink } from './sink.js'
import { SinkLane, type LaneContext } from './sink-lane.js'

/** Options of {@link createAuditLog}. */
export interface AuditLogOptions {
  /** Where records go. At least one. */
  sinks: readonly AuditSink[]
  /**
   * Records queued per sink while it catches up; a sink whose queue is full misses new records
   * (counted `shed`), and when every sink's queue is full `record()` drops and counts. @defaultValue 4096
   */
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
   * A sink call that has not settled after this long is reported (`onSinkError`) and its records are
   * counted in doubt; the sink is not called again until it settles, and later records queue for it
   * within `bufferSize`. A write that settles late is counted written (or failed). @defaultValue 10000
   */
  writeTimeoutMs?: number | undefined
  /**
   * When true the service must not serve a request it cannot audit: {@link AuditLog.canWrite}
   * turns false while a sink's queue is full, a sink's last write failed or timed out, or more is
   * unconfirmed than `maxUnconfirmedRecords` / `maxUnconfirmedMs` allow, and the guard pipeline
   * answers 503 (`AuditError`, reason `audit_unavailable`). @defaultValue false
   */
  failClosed?: boolean | undefined
  /**
   * With `failClosed`: requests are refused while a sink has more records than this queued or in
   * writes that have not settled. @defaultValue `bufferSize`
   */
  maxUnconfirmedRecords?: number | undefined
  /**
   * With `failClosed`: requests are refused while a sink call has been running this long (ms), so a
   * hung sink stops traffic after this window rather than after `writeTimeoutMs`. @defaultValue 2000
   */
  maxUnconfirmedMs?: number | undefined
  /** Attribute include/exclude applied to `checkResources.inputs` of every record. */
  attributes?: AuditAttributeConfig | undefined
  /**
   * Which allow records are written: `true` all, `false` none, a number in (0, 1) that share of
   * them (sampled by decision id). Denials, errors, authentication failures and shadow
   * disagreements are always kept. Records left out are counted in `stats().skipped`.
   * @defaultValue true
   */
  keepAllowed?: KeepAllowed | undefined
  /** Drop the Cerbos-style `checkResources`/`auditTrail` fields (smaller records). @defaultValue false */
  omitCheckResources?: boolean | undefined
  /** Counts drops in the `meshguard.audit.dropped` metric. */
  telemetry?: Pick<Telemetry, 'recordAuditDrop'> | undefined
  /** Called for every record dropped. */
  onDrop?: ((record: AuditRecord) => void) | undefined
  /** Called when a sink fails or a sink call outlives `writeTimeoutMs`; never allowed to throw into the log. */
  onSinkError?: ((error: unknown, sink: AuditSink) => void) | undefined
}

/** Health of an audit log, for health endpoints and the fail-closed check. */
export interface AuditHealth {
  /** Whether a new record can be accepted and written right now. */
  writable: boolean
  /** Sinks whose last write failed or timed out. */
  failingSinks: string[]
  /** Sinks with a call that outlived `writeTimeoutMs` and has not settled (they get no new call meanwhile). */
  stalledSinks: string[]
  /** Whether some sink's queue is full. */
  bufferFull: boolean
  /** Whether `close()` was called. */
  closed: boolean
}

/**
 * The non-blocking audit log. `record()` only copies into a bounded queue per sink; sinks are
 * written in the background in arrival order, each one call at a time.
 */
export interface AuditLog {
  /** Whether the log was configured to fail closed. */
  readonly failClosed: boolean
  /**
   * Queues a record without blocking. Returns false when it was dropped (every sink's queue full,
   * or closed); drops are counted and reported through `onDrop`. Never throws.
   */
  record(record: AuditRecord): boolean
  /** Synchronous health check: queues have room, no sink failing or stalled, not closed, within the fail-closed bounds. */
  canWrite(): boolean
  /** Throws `AuditError` (503, `audit_unavailable`) when `failClosed` is set and `canWrite()` is false. */
  assertWritable(): void
  /** Detailed health state. */
  health(): AuditHealth
  /** Counters. */
  stats(): AuditLogStats
  /**
   * Resolves once everything recorded so far was handed to every sink and sinks flushed. A sink stuck
   * in a call that outlived `writeTimeoutMs` is not waited for (its records stay queued for it).
   */
  flush(): Promise<void>
  /**
   * Flushes, then closes every sink. Later records are dropped. A stalled sink is closed once its
   * call settles and its queue is written; the promise does not wait for that.
   */
  close(): Promise<void>
}

const positiveInt = (value: number | undefined, fallback: number, option: string): number => {
  if (value === undefined) return fallback
  if (!Number.isInteger(value) || value < 1) throw new ConfigError(option, 'must be a positive integer')
  return value
}

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
  const sinks: unknown = options.sinks // a JavaScript caller's: checked before use
  if (!Array.isArray(sinks) || sinks.length === 0) {
    throw new ConfigError('audit.sinks', 'at least one sink is required')
  }
  sinks.forEach((sink: unknown, index: number) => {
    if (typeof (sink as Partial<AuditSink> | null | undefined)?.write !== 'function') throw new ConfigError(`audit.sinks[${index}]`, 'must be an AuditSink with write()')
  })
  const bufferSize = positiveInt(options.bufferSize, 4096, 'audit.bufferSize')
  const batchSize = positiveInt(options.batchSize, 256, 'audit.batchSize')
  const writeTimeoutMs = positiveInt(options.writeTimeoutMs, 10_000, 'audit.writeTimeoutMs')
  const maxUnconfirmedRecords = positiveInt(options.maxUnconfirmedRecords, bufferSize, 'audit.maxUnconfirmedRecords')
  const maxUnconfirmedMs = positiveInt(options.maxUnconfirmedMs, 2000, 'audit.maxUnconfirmedMs')
  const failClosed = options.failClosed === true
  const keep = keepPolicyOf(options.keepAllowed)
  // Failing closed, a failing sink must be noticed as soon as possible: no window by default.
  const flushIntervalMs = options.flushIntervalMs ?? (failClosed ? 0 : 20)
  if (!Number.isInteger(flushIntervalMs) || flushIntervalMs < 0 || flushIntervalMs > 60_000) {
    throw new ConfigError('audit.flushIntervalMs', 'must be an integer from 0 to 60000')
  }

  const stats = { recorded: 0, dropped: 0, skipped: 0 }
  let closed = false

  /**
   * One watchdog for every call in flight, instead of a timer per batch: a busy service writes a
   * batch per event-loop turn, and a timer each time (with its async hooks) cost more than the write.
   * It ticks at most once a second (unref'd, so it never keeps the process alive) while the log is open.
   */
  const busyLanes = new Set<SinkLane>()
  let watchdog: ReturnType<typeof setInterval> | undefined
  const expireStalledCalls = (): void => {
    for (const lane of busyLanes) lane.expire()
    if (closed && busyLanes.size === 0 && watchdog !== undefined) {
      clearInterval(watchdog)
      watchdog = undefined
    }
  }

  const context: LaneContext = {
    batchSize,
    writeTimeoutMs,
    now: () => performance.now(),
    watch(lane) {
      busyLanes.add(lane)
      if (watchdog === undefined) {
        watchdog = setInterval(expireStalledCalls, Math.min(writeTimeoutMs, 1000))
        // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- a stubbed timer may lack unref
        watchdog.unref?.()
      }
    },
    unwatch: (lane) => void busyLanes.delete(lane),
    reportError: (error, sink) => safely(() => options.onSinkError?.(error, sink)),
    settled: () => settleIdle(),
  }
  const lanes = options.sinks.map((sink) => new SinkLane(sink, context))
  const onlyLane = lanes.length === 1 ? lanes[0] : undefined

  const prepare = (record: AuditRecord): AuditRecord => {
    if (options.omitCheckResources) {
      // The explanation holds attribute values too: it goes with the inputs.
      const { checkResources: _io, auditTrail: _trail, explanation: _why, ...rest } = record
      return rest
    }
    if (!options.attributes || (!record.checkResources && !record.explanation)) return record
    return {
      ...record,
      checkResources: record.checkResources && {
        ...record.checkResources,
        inputs: filterCheckInputs(record.checkResources.inputs, options.attributes),
      },
      explanation: record.explanation && maskExplanation(record.explanation, options.attributes),
    }
  }

  /** Hands a prepared record to every lane with room (at least one has room). */
  const enqueue = (record: AuditRecord): void => {
    if (onlyLane !== undefined) {
      onlyLane.queue.push(record)
      return
    }
    // record() has checked that some lane has room, so the record is kept: lanes without room miss it.
    for (const lane of lanes) {
      if (lane.queue.size < bufferSize) lane.queue.push(record)
      else lane.shed++
    }
  }

  const everyQueueFull = (): boolean => {
    for (const lane of lanes) if (lane.queue.size < bufferSize) return false
    return true
  }

  // Draining: records wait up to flushIntervalMs for a full batch (one timer per window, not a
  // callback per event-loop turn: under load the per-turn callback and its async hooks cost more
  // than the write), a full batch goes at the end of the turn, then batches go back to back; a lane
  // with an asynchronous write in flight drains everything queued when it settles. record() always
  // returns before any sink runs.
  let timer: ReturnType<typeof setTimeout> | undefined
  let immediate = false
  let idleWaiters: Array<() => void> = []

  const allCaughtUp = (): boolean => {
    for (const lane of lanes) if (!lane.caughtUp) return false
    return true
  }

  function settleIdle(): void {
    if (idleWaiters.length === 0 || timer !== undefined || immediate || !allCaughtUp()) return
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
    for (const lane of lanes) lane.drain()
    settleIdle()
  }

  /** Drains at the end of this turn. */
  const drainSoon = (): void => {
    if (immediate) return
    immediate = true
    setImmediate(pump)
  }

  const anyLaneIdle = (): boolean => {
    for (const lane of lanes) if (!lane.busy) return true
    return false
  }

  const schedule = (): void => {
    // A busy lane drains when its call settles: no callback needed for it.
    if (immediate || !anyLaneIdle()) return
    if (flushIntervalMs === 0 || fullBatchWaiting()) drainSoon()
    else timer ??= setTimeout(pump, flushIntervalMs)
  }
  const fullBatchWaiting = (): boolean => {
    for (const lane of lanes) if (lane.queue.size >= batchSize) return true
    return false
  }

  /** Resolves once every lane has handed over everything recorded so far, or is stalled. */
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

  const withinFailClosedBounds = (): boolean => {
    for (const lane of lanes) {
      if (lane.unconfirmed > maxUnconfirmedRecords) return false
      if (lane.busy && performance.now() - lane.startedAt >= maxUnconfirmedMs) return false
    }
    return true
  }

  const log: AuditLog = {
    failClosed,
    record(record) {
      // Left out by the keep rule is not a loss: it is counted, and fail-closed logs do not refuse for it.
      if (!closed && !keep(record)) {
        stats.skipped++
        return true
      }
      if (closed || everyQueueFull()) return drop(record)
      let prepared: AuditRecord
      try {
        prepared = prepare(record)
      } catch {
        return drop(record)
      }
      enqueue(prepared)
      stats.recorded++
      schedule()
      return true
    },
    canWrite() {
      if (closed) return false
      for (const lane of lanes) if (lane.failing || lane.inDoubt || lane.queue.size >= bufferSize) return false
      return !failClosed || withinFailClosedBounds()
    },
    assertWritable() {
      if (failClosed && !log.canWrite()) {
        throw new AuditError('the audit log cannot be written and the service is configured to fail closed')
      }
    },
    health() {
      return {
        writable: log.canWrite(),
        failingSinks: lanes.filter((lane) => lane.failing).map((lane) => lane.sink.name),
        stalledSinks: lanes.filter((lane) => lane.inDoubt).map((lane) => lane.sink.name),
        bufferFull: lanes.some((lane) => lane.queue.size >= bufferSize),
        closed,
      }
    },
    stats() {
      const sinks = lanes.map((lane) => lane.stats())
      let written = 0
      let failedRecords = 0
      let inDoubt = 0
      let buffered = 0
      for (const [index, sink] of sinks.entries()) {
        written += sink.written
        failedRecords += sink.failed
        inDoubt += sink.inDoubt
        buffered = Math.max(buffered, (lanes[index] as SinkLane).queue.size)
      }
      return { ...stats, written, failedRecords, inDoubt, buffered, sinks }
    },
    async flush() {
      await drained()
      await Promise.all(lanes.map((lane) => lane.flush()))
    },
    async close() {
      if (closed) return
      await log.flush()
      closed = true
      await Promise.all(lanes.map((lane) => lane.close()))
      expireStalledCalls()
    },
  }
  return log
}
