import type { AuditRecord } from './record.js'

/**
 * Where audit records go. `write` receives records in batches, in the order they were recorded,
 * and is never called again before the previous call settled, so a sink needs no locking.
 * A sink that throws or rejects is reported and retried with the next batch; the batch it failed
 * on counts as lost (see {@link AuditLogStats.failedRecords}).
 */
export interface AuditSink {
  /** Name used in error reports and stats, e.g. `stdout`, `file:/var/log/authz.log`. */
  readonly name: string
  /** Writes a batch of records. */
  write(records: readonly AuditRecord[]): void | Promise<void>
  /** Makes previously written records durable (e.g. fsync); optional. */
  flush?(): void | Promise<void>
  /** Releases resources (file handles); optional. Called once, by `AuditLog.close()`. */
  close?(): void | Promise<void>
}

/** Counters of an audit log. */
export interface AuditLogStats {
  /** Records accepted by `record()`. */
  recorded: number
  /** Records refused because the buffer was full or the log was closed. */
  dropped: number
  /** Records handed to a sink successfully (counted once per sink). */
  written: number
  /** Records in batches a sink failed to write (counted once per sink). */
  failedRecords: number
  /** Records waiting in the buffer. */
  buffered: number
}
