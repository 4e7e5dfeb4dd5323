import type { AuditRecord } from './record.js'

/**
 * Where audit records go. `write` receives records in batches, in the order they were recorded,
 * and no method of a sink (`write`, `flush`, `close`) is called before its previous call settled,
 * not even after a write outlived `writeTimeoutMs`, so a sink needs no locking.
 * A sink that throws or rejects is reported and retried with the next batch; the batch it failed
 * on counts as failed (see {@link AuditSinkStats.failed}). A write still running after
 * `writeTimeoutMs` is reported and its batch counted as in doubt until it settles.
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

/**
 * What became of the records one sink was given. At any moment
 * `recorded === written + failed + inDoubt + shed + pending` for every sink.
 */
export interface AuditSinkStats {
  /** The sink's name. */
  name: string
  /** Records in writes that settled successfully, including writes that settled after their timeout. */
  written: number
  /** Records in writes that threw or rejected. */
  failed: number
  /** Records in a write that outlived `writeTimeoutMs` and has not settled yet. */
  inDoubt: number
  /** Records this sink never got because its queue was full while the others had room. */
  shed: number
  /** Records queued for this sink or in a write still within its timeout. */
  pending: number
}

/** Counters of an audit log. */
export interface AuditLogStats {
  /** Records accepted by `record()`. */
  recorded: number
  /** Records refused because every sink's queue was full or the log was closed. */
  dropped: number
  /** Allow records left out by `keepAllowed` (not a loss: the configuration asked for it). */
  skipped: number
  /** Records written, summed over sinks (a record written by two sinks counts twice). */
  written: number
  /** Records in failed writes, summed over sinks. */
  failedRecords: number
  /** Records in writes that outlived `writeTimeoutMs` and have not settled, summed over sinks. */
  inDoubt: number
  /** Records queued for the furthest-behind sink, not yet handed to it. */
  buffered: number
  /** The same counts per sink, in the order the sinks were configured. */
  sinks: AuditSinkStats[]
}
