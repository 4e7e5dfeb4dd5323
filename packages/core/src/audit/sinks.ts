import { open, type FileHandle } from 'node:fs/promises'
import type { Writable } from 'node:stream'
import { ConfigError } from '../errors.js'
import type { AuditRecord } from './record.js'
import type { AuditSink } from './sink.js'

const toLines = (records: readonly AuditRecord[]): string =>
  records.map((record) => `${JSON.stringify(record)}\n`).join('')

/** Options of {@link stdoutSink}. */
export interface StreamSinkOptions {
  /** The stream to write to. @defaultValue `process.stdout` */
  stream?: Writable | undefined
}

/** JSON lines to stdout (or any writable stream). A write resolves once the stream accepted it. */
export function stdoutSink(options: StreamSinkOptions = {}): AuditSink {
  const stream = options.stream ?? process.stdout
  return {
    name: options.stream ? 'stream' : 'stdout',
    write(records) {
      return new Promise<void>((resolve, reject) => {
        stream.write(toLines(records), (error) => (error ? reject(error) : resolve()))
      })
    },
  }
}

/** Options of {@link fileSink}. */
export interface FileSinkOptions {
  /** File to append JSON lines to; created if missing. */
  path: string
  /** fsync on `flush()` so records survive a crash. @defaultValue true */
  sync?: boolean | undefined
}

/** JSON lines appended to a file. The file is opened on first write and closed by `close()`. */
export function fileSink(options: FileSinkOptions): AuditSink {
  if (typeof options.path !== 'string' || options.path === '') {
    throw new ConfigError('audit.file.path', 'must be a non-empty path')
  }
  let handle: Promise<FileHandle> | undefined
  const file = (): Promise<FileHandle> => {
    // A failed open is retried on the next write rather than cached forever.
    handle ??= open(options.path, 'a').catch((error: unknown) => {
      handle = undefined
      throw error
    })
    return handle
  }
  return {
    name: `file:${options.path}`,
    async write(records) {
      await (await file()).appendFile(toLines(records), 'utf8')
    },
    async flush() {
      if (handle && options.sync !== false) await (await handle).sync()
    },
    async close() {
      const current = handle
      handle = undefined
      if (current) await (await current).close()
    },
  }
}

/** A user function called once per record, in order. It may be async; a throw counts as a sink failure. */
export function functionSink(
  fn: (record: AuditRecord) => void | Promise<void>,
  name = 'function',
): AuditSink {
  if (typeof fn !== 'function') throw new ConfigError('audit.sink', 'must be a function')
  return {
    name,
    async write(records) {
      for (const record of records) await fn(record)
    },
  }
}
