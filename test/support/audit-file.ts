/** Reading a JSON-lines audit file that a running service is still writing. */
import { readFile } from 'node:fs/promises'

/**
 * The records in the audit file at `path`, once `count` complete lines are there (the log writes
 * after answering, and a poll may catch a record half written), or whatever is complete after about
 * five seconds (the caller's assertion then says what is missing).
 */
export async function auditRecordsOf<T = Record<string, unknown>>(path: string, count: number): Promise<T[]> {
  for (let attempt = 0; ; attempt++) {
    const text = await readFile(path, 'utf8').catch(() => '')
    const lines = text.slice(0, text.lastIndexOf('\n') + 1).split('\n').filter((l) => l !== '')
    if (lines.length >= count || attempt === 100) return lines.map((l) => JSON.parse(l) as T)
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}
