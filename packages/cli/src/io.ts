/** The streams a command talks to, injectable so tests can run commands in-process. */
import { once } from 'node:events'
import type { Writable } from 'node:stream'

/** Standard streams of one CLI run. */
export interface CliIo {
  stdin: AsyncIterable<Buffer | string>
  stdout: Writable
  stderr: Writable
}

/** Writes and waits for `drain` when the stream asks for back-pressure. */
export async function write(stream: Writable, text: string): Promise<void> {
  if (!stream.write(text)) await once(stream, 'drain')
}

/** A usage mistake: printed with the usage text, exit code 2. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'UsageError'
  }
}
