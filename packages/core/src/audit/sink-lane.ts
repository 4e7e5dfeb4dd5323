import type { AuditRecord } from './record.js'
import { RecordQueue } from './record-queue.js'
import type { AuditSink, AuditSinkStats } from './sink.js'

/** What a lane needs from its log. */
export interface LaneContext {
  readonly batchSize: number
  readonly writeTimeoutMs: number
  now(): number
  /** Starts watching a call for its timeout. */
  watch(lane: SinkLane): void
  /** Stops watching. */
  unwatch(lane: SinkLane): void
  /** A sink failed or a call outlived its timeout. */
  reportError(error: unknown, sink: AuditSink): void
  /** The lane caught up or stalled: flush() may stop waiting for it. */
  settled(): void
}

type CallKind = 'write' | 'flush' | 'close'

const isThenable = (value: unknown): value is PromiseLike<void> =>
  typeof (value as PromiseLike<void> | undefined)?.then === 'function'

/**
 * One sink's queue and its calls, one at a time. A call that outlives `writeTimeoutMs` is not
 * abandoned: the sink stays busy until it settles (its records counted in doubt meanwhile), later
 * batches queue behind it, and its outcome is counted when it finally comes.
 */
export class SinkLane {
  readonly queue = new RecordQueue()
  written = 0
  failed = 0
  shed = 0
  /** Whether the last write failed or outlived its timeout. */
  failing = false
  /** Whether a call (write, flush or close) has not settled yet. */
  busy = false
  /** When the running call started (the context's clock). */
  startedAt = 0
  /** Whether the running call outlived `writeTimeoutMs`. */
  inDoubt = false
  /** Records in the running write. */
  private running = 0
  private kind: CallKind = 'write'
  /** Lets a caller waiting for the running call go when it settles or times out. */
  private release: (() => void) | undefined
  private closeRequested: (() => void) | undefined
  private closeDone = false

  constructor(
    readonly sink: AuditSink,
    private readonly context: LaneContext,
  ) {}

  /** Records queued or handed to the sink whose write has not settled (in doubt included). */
  get unconfirmed(): number {
    return this.queue.size + this.running
  }

  /** Nothing left to hand over, or stalled behind a call in doubt. */
  get caughtUp(): boolean {
    return this.inDoubt || (!this.busy && this.queue.size === 0)
  }

  stats(): AuditSinkStats {
    const inDoubt = this.inDoubt ? this.running : 0
    return {
      name: this.sink.name,
      written: this.written,
      failed: this.failed,
      inDoubt,
      shed: this.shed,
      pending: this.queue.size + this.running - inDoubt,
    }
  }

  /** Writes queued batches back to back while the sink answers synchronously; one async call at a time. */
  drain(): void {
    while (!this.busy && this.queue.size > 0) this.write(this.queue.take(this.context.batchSize))
    if (!this.busy && this.closeRequested !== undefined && !this.closeDone) this.runClose()
  }

  /** Calls the sink's `flush()` once the lane is idle; resolves when it settles or times out. */
  flush(): Promise<void> {
    // eslint-disable-next-line @typescript-eslint/unbound-method -- called as flush.call(this.sink) below
    const flush = this.sink.flush
    if (flush === undefined || this.busy) return Promise.resolve()
    return new Promise<void>((resolve) => this.call('flush', 0, () => flush.call(this.sink), resolve))
  }

  /**
   * Closes the sink after everything queued was written. A lane stuck in a call in doubt closes
   * when that call settles; the promise does not wait for it.
   */
  close(): Promise<void> {
    if (this.closeDone || this.closeRequested !== undefined) return Promise.resolve()
    return new Promise<void>((resolve) => {
      this.closeRequested = resolve
      if (this.inDoubt) resolve()
      this.drain()
    })
  }

  /** Called by the log's watchdog: marks a call that outlived the timeout as in doubt, once. */
  expire(): void {
    if (!this.busy || this.inDoubt || this.context.now() - this.startedAt < this.context.writeTimeoutMs) return
    this.inDoubt = true
    if (this.kind === 'write') this.failing = true
    const what = this.kind === 'write' ? `a write of ${this.running} records` : `a ${this.kind}`
    this.context.reportError(
      new Error(
        `audit sink ${this.sink.name} did not finish ${what} in ${this.context.writeTimeoutMs} ms; ` +
          'it is not called again until that settles',
      ),
      this.sink,
    )
    this.releaseWaiter()
    this.closeRequested?.()
    this.context.settled()
  }

  private runClose(): void {
    const resolve = this.closeRequested as () => void
    this.closeDone = true
    // eslint-disable-next-line @typescript-eslint/unbound-method -- called as close.call(this.sink) below
    const close = this.sink.close
    if (close === undefined) return resolve()
    this.call('close', 0, () => close.call(this.sink), resolve)
  }

  private write(batch: readonly AuditRecord[]): void {
    this.call('write', batch.length, () => this.sink.write(batch))
  }

  /** Runs one sink call; a synchronous answer costs no promise and no watchdog entry. */
  private call(kind: CallKind, records: number, fn: () => void | Promise<void>, done?: () => void): void {
    let result: void | Promise<void>
    try {
      result = fn()
    } catch (error) {
      this.account(kind, records, error, true)
      done?.()
      return
    }
    if (!isThenable(result)) {
      this.account(kind, records, undefined, false)
      done?.()
      return
    }
    this.busy = true
    this.kind = kind
    this.running = records
    this.inDoubt = false
    this.startedAt = this.context.now()
    this.release = done
    this.context.watch(this)
    result.then(
      () => this.settle(undefined, false),
      (error: unknown) => this.settle(error, true),
    )
  }

  private settle(error: unknown, isError: boolean): void {
    const records = this.running
    this.busy = false
    this.running = 0
    this.inDoubt = false
    this.context.unwatch(this)
    this.account(this.kind, records, error, isError)
    this.releaseWaiter()
    if (this.kind === 'close') this.closeRequested?.()
    this.drain()
    this.context.settled()
  }

  private releaseWaiter(): void {
    const release = this.release
    this.release = undefined
    release?.()
  }

  private account(kind: CallKind, records: number, error: unknown, isError: boolean): void {
    if (!isError) {
      this.written += records
      if (kind === 'write') this.failing = false
      return
    }
    this.failed += records
    if (kind !== 'close') this.failing = true
    this.context.reportError(error, this.sink)
  }
}
