/**
 * Drives the real Cerbos PDP's `cerbos repl` (from @cerbos/cerbos-linux-x64) as an oracle for CEL
 * semantics: every line of input yields one output block, which is read back as `true`, `false`,
 * `error` (compile or evaluation error) or `value` (anything else).
 */
import { spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

/** Path of the Cerbos binary installed at the workspace root, if present. */
export const CERBOS_BINARY = fileURLToPath(
  new URL('../../../../node_modules/@cerbos/cerbos-linux-x64/cerbos-linux-x64', import.meta.url),
)

/** True when the Cerbos binary is available on this machine (Linux x64). */
export function cerbosAvailable(): boolean {
  return process.platform === 'linux' && process.arch === 'x64' && existsSync(CERBOS_BINARY)
}

/** The outcome of one expression. */
export type Outcome = 'true' | 'false' | 'error' | 'value'

/** The run-time error message the REPL printed for a block, if it was an evaluation error. */
export function evaluationErrorMessage(block: string): string | undefined {
  const m = /^Error: Failed to process input\s*\n\s*(.+)$/m.exec(block.trim())
  return m?.[1]?.trim()
}

/** One REPL session step: set the `request` (and `variables`), then evaluate expressions. */
export interface ReplBatch {
  request: unknown
  variables?: Record<string, unknown>
  expressions: string[]
}

function outcomeOf(block: string): Outcome {
  const text = block.trim()
  if (text === '_ = true') return 'true'
  if (text === '_ = false') return 'false'
  if (text.startsWith('ERROR:') || text.startsWith('Error:')) return 'error'
  return 'value'
}

/**
 * Runs batches through one `cerbos repl` process and returns the outcome of every expression, in
 * order. The process is killed if it does not finish within `timeoutMs`.
 */
export async function runInCerbosRepl(batches: readonly ReplBatch[], timeoutMs = 60_000): Promise<Outcome[][]> {
  const blocks = await replBlocks(batches, timeoutMs)
  return blocks.map((batch) => batch.map(outcomeOf))
}

/** Like {@link runInCerbosRepl} but returns the raw output block of every expression. */
export async function replBlocks(batches: readonly ReplBatch[], timeoutMs = 60_000): Promise<string[][]> {
  const lines: string[] = []
  for (const batch of batches) {
    lines.push(`:let request = ${JSON.stringify(batch.request)}`)
    lines.push(`:let variables = ${JSON.stringify(batch.variables ?? {})}`)
    for (const expr of batch.expressions) lines.push(expr.replace(/\s+/g, ' '))
  }
  lines.push(':quit')
  const child = spawn(CERBOS_BINARY, ['repl'], { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, NO_COLOR: '1' } })
  const chunks: Buffer[] = []
  child.stdout.on('data', (c: Buffer) => chunks.push(c))
  child.stderr.on('data', (c: Buffer) => chunks.push(c))
  const done = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      reject(new Error('cerbos repl timed out'))
    }, timeoutMs)
    child.on('error', reject)
    child.on('close', () => {
      clearTimeout(timer)
      resolve()
    })
  })
  child.stdin.end(`${lines.join('\n')}\n`)
  await done
  // Strip terminal escapes, then split on the prompt; block 0 is the banner.
  // eslint-disable-next-line no-control-regex -- removing ANSI escape sequences means matching ESC
  const output = Buffer.concat(chunks).toString('utf8').replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '')
  const blocks = output.split(/^-> /m).slice(1)
  const results: string[][] = []
  let index = 0
  for (const batch of batches) {
    index += 2 // the two :let lines
    results.push(batch.expressions.map(() => blocks[index++] ?? 'ERROR: missing output'))
  }
  return results
}
