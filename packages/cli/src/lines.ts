/**
 * Splits a byte stream into lines without readline's per-line overhead: each chunk yields the batch of
 * complete lines it finished, so callers can answer a whole batch with one write.
 */
import { StringDecoder } from 'node:string_decoder'

/** A line that grew past the limit is reported instead of being buffered without bound. */
export const MAX_LINE_BYTES = 16 * 1024 * 1024

/** One input line, or a marker for a line that was too long and was dropped. */
export type InputLine = { text: string; tooLong?: false } | { text: ''; tooLong: true }

/** Yields batches of lines (without the trailing `\n` or `\r\n`), one batch per input chunk. */
export async function* lineBatches(input: AsyncIterable<Buffer | string>): AsyncGenerator<InputLine[]> {
  const decoder = new StringDecoder('utf8')
  let pending = ''
  let dropping = false
  const strip = (line: string): string => (line.endsWith('\r') ? line.slice(0, -1) : line)
  for await (const chunk of input) {
    const text = typeof chunk === 'string' ? chunk : decoder.write(chunk)
    const parts = (pending + text).split('\n')
    pending = parts.pop() ?? ''
    const batch: InputLine[] = []
    for (const part of parts) {
      if (dropping) {
        // The rest of an over-long line: already reported.
        dropping = false
        continue
      }
      batch.push({ text: strip(part) })
    }
    if (pending.length > MAX_LINE_BYTES) {
      if (!dropping) batch.push({ text: '', tooLong: true })
      dropping = true
      pending = ''
    }
    if (batch.length > 0) yield batch
  }
  pending += decoder.end()
  if (!dropping && pending.length > 0) yield [{ text: strip(pending) }]
}
