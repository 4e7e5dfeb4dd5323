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

/** Whether a non-empty file's last byte is not a newline (a line torn by a crash). */
async function endsMidLine(handle: FileHandle): Promise<boolean> {
  const { size } = await handle.stat()
  if (size === 0) return false
  const last = Buffer.alloc(1)
  await handle.read(last, 0, 1, size - 1)
  return last[0] !== 0x0a
}

/**
 * JSON lines appended to a file. The file is opened on first write and closed by `close()`.
 * Each batch is one append, so a process killed mid-write leaves at most its last line torn; the
 * next process to open the file starts on a new line, so the torn fragment never swallows a record.
 * Records a sink has written survive the process being killed (they are in the kernel); `sync`
 * makes `flush()` also carry them through a power loss.
 */
export function fileSink(options: FileSinkOptions): AuditSink {
  if (typeof options.path !== 'string' || options.path === '') {
    throw new ConfigError('audit.file.path', 'must be a non-empty path')
  }
  let handle: Promise<FileHandle> | undefined
  let tornLine = false
  const openFile = async (): Promise<FileHandle> => {
    const opened = await open(options.path, 'a+')
    try {
      tornLine = await endsMidLine(opened)
    } catch (error) {
      await opened.close().catch(() => undefined)
      throw error
    }
    return opened
  }
  const file = (): Promise<FileHandle> => {
    // A failed open is retried on the next write rather than cached forever.
    handle ??= openFile().catch((error: unknown) => {
      handle = undefined
      throw error
    })
    return handle
  }
  return {
    name: `file:${options.path}`,
    async write(records) {
      const target = await file()
      const lines = toLines(records)
      await target.appendFile(tornLine ? `\n${lines}` : lines, 'utf8')
      tornLine = false
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
