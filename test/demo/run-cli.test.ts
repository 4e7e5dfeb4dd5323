/**
 * `pnpm demo` itself: the runner as a child process on the built packages (the root test command
 * runs `tsc -b` first). Piped output has no colours; `--keep` serves until SIGTERM and then stops
 * every server it started.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { afterAll, describe, expect, it } from 'vitest'

const runner = fileURLToPath(new URL('../../examples/demo/run.mjs', import.meta.url))
const children: ChildProcess[] = []

afterAll(() => {
  for (const child of children) if (child.exitCode === null) child.kill('SIGKILL')
})

function launch(args: string[]): { child: ChildProcess; output: () => string; exit: Promise<number | null> } {
  const child = spawn(process.execPath, [runner, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NO_COLOR: '' } })
  children.push(child)
  let out = ''
  child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString('utf8')))
  child.stderr.on('data', (chunk: Buffer) => (out += chunk.toString('utf8')))
  const exit = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
  return { child, output: () => out, exit }
}

describe('examples/demo/run.mjs', () => {
  it('runs the scenario, prints plain text when piped, and exits 0', async () => {
    const run = launch([])
    expect(await run.exit).toBe(0)
    const out = run.output()
    expect(out).not.toContain('\u001b[')
    expect(out).toMatch(/All \d+ expectations met\./)
    expect(out).toContain('Call trees')
    expect(out).toMatch(/Audit log: \S+audit\.jsonl/)
  }, 120_000)

  it('--keep serves until SIGTERM, then stops its servers', async () => {
    const run = launch(['--keep'])
    await new Promise<void>((resolve, reject) => {
      const timer = setInterval(() => {
        if (run.output().includes('press Ctrl-C')) {
          clearInterval(timer)
          resolve()
        } else if (run.child.exitCode !== null) {
          clearInterval(timer)
          reject(new Error(`runner exited early:\n${run.output()}`))
        }
      }, 50)
    })
    const gateway = /(http:\/\/127\.0\.0\.1:\d+)\/api\/reviews/.exec(run.output())?.[1]
    expect(gateway).toBeDefined()
    expect((await fetch(`${gateway}/health`)).status).toBe(200)
    run.child.kill('SIGTERM')
    expect(await run.exit).toBe(143)
    await expect(fetch(`${gateway}/health`)).rejects.toThrow()
  }, 120_000)
})
