/**
 * Runs the `meshguard` CLI for tests: in this process through `main` (fast, no build needed), or as
 * the built binary in a child process (what a user runs).
 */
import { spawn } from 'node:child_process'
import { PassThrough } from 'node:stream'
import { fileURLToPath } from 'node:url'
import { main } from '../../packages/cli/src/index.js'

/** What one CLI run printed, and its exit code (`null` when a child was killed by a signal). */
export interface CliRun {
  code: number | null
  stdout: string
  stderr: string
}

/** The built CLI binary. */
export const CLI_BIN = fileURLToPath(new URL('../../packages/cli/dist/bin.js', import.meta.url))

/** Runs `meshguard <argv>` in this process; `stdin` is its whole standard input (none when undefined). */
export async function runCliInProcess(argv: string[], stdin?: string): Promise<CliRun> {
  const stdout = new PassThrough()
  const stderr = new PassThrough()
  let out = ''
  let err = ''
  stdout.on('data', (d: Buffer) => (out += d.toString('utf8')))
  stderr.on('data', (d: Buffer) => (err += d.toString('utf8')))
  const input = (async function* () {
    if (stdin !== undefined) yield stdin
  })()
  const code = await main(argv, { stdin: input, stdout, stderr })
  return { code, stdout: out, stderr: err }
}

/** Runs the built binary with `args` in a child process, `stdin` written to it and closed. */
export function runCliBinary(args: string[], stdin = ''): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI_BIN, ...args], { stdio: ['pipe', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d))
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d))
    child.on('error', reject)
    child.on('close', (code) => resolve({ code, stdout, stderr }))
    child.stdin.end(stdin)
  })
}
