/**
 * docs/getting-started.md, run as a newcomer runs it: every shell block marked `<!-- run: DIR -->`
 * runs in bash, in that directory of a fresh temporary workspace (`meshguard` is the checkout with
 * the tarballs in `.tmp/packages`, made as `pnpm pack:all` makes them), in page order, and prints
 * exactly the block marked `<!-- output -->` after it (`<!-- output: like -->`: the first line's
 * first clause, up to its numbers: `added N packages`). `<!-- run in the background: DIR -->` blocks (`npm run dev`) are started and
 * left running until the page is done. Only what cannot be the same on another machine is
 * replaced: the checkout's location, and the ports, as each service takes a free one
 * (`localhost:3000` is `documents`, `localhost:3001` is `frontend`).
 *
 * Needs the npm registry (the services' frameworks and peers); packages are built by `tsc -b` first.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process'
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { untilListening } from '../support/listening.js'

const run = promisify(execFile)
const root = fileURLToPath(new URL('../../', import.meta.url))
const CURL = fileURLToPath(new URL('./support/curl.mjs', import.meta.url))
const MINUTES = 60_000
// npm runs as a newcomer's would: without the npm_* settings of the pnpm running this suite.
const cleanEnv = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.toLowerCase().startsWith('npm_')))

const page = await readFile(new URL('../../docs/getting-started.md', import.meta.url), 'utf8')

interface Step {
  dir: string
  background: boolean
  script: string
  output?: { text: string; like: boolean }
}

/** The page's runnable blocks, in order, each with the output block that follows it. */
function steps(): Step[] {
  const found: Step[] = []
  const blocks = /<!-- (run|run in the background): (\S+) -->\n```sh\n([\s\S]*?)```|<!-- output(: like)? -->\n```\n([\s\S]*?)```/g
  for (const m of page.matchAll(blocks)) {
    if (m[1] !== undefined) found.push({ dir: m[2] ?? '', background: m[1] !== 'run', script: m[3] ?? '' })
    else if (found.length > 0) found[found.length - 1]!.output = { text: m[5] ?? '', like: m[4] !== undefined }
  }
  return found
}

/** Numbers and durations vary from run to run (`added 81 packages … in 9s`). */
const shape = (line: string): string => line.replace(/\d+(\.\d+)?(ms|s|m)?/g, 'N')

let work: string
const ports = new Map<string, string>()
const children: ChildProcess[] = []
/** What each step printed, and the page's output for it with the ports known when it ran. */
const outputs: Array<{ step: Step; stdout: string; expected?: string | undefined }> = []

/** The page's text with this run's ports (services listen on free ports, not 3000 and 3001). */
const withPorts = (text: string): string => text.replace(/localhost:(300[01])\b/g, (_all, port: string) => `localhost:${ports.get(port) ?? port}`)

/** Starts a background block (`npm run dev`); resolves to its port and what it printed once it listens. */
function startInBackground(step: Step, env: NodeJS.ProcessEnv): Promise<{ port: string; printed: string }> {
  const child = spawn('bash', ['-c', step.script], { cwd: join(work, step.dir), env: { ...cleanEnv, ...env, PORT: '0' }, detached: true, stdio: ['ignore', 'pipe', 'pipe'] })
  children.push(child)
  return untilListening(child, /listening on http:\/\/localhost:(\d+)\n/, step.script)
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'meshguard-getting-started-'))
  await mkdir(join(work, 'meshguard'))
  await run(process.execPath, [join(root, 'scripts/pack.mjs'), '--out', join(work, 'meshguard', '.tmp', 'packages')], { cwd: root })
  for (const step of steps()) {
    // The checkout is this repository; only its location differs from the page's.
    const script = withPorts(step.script).replaceAll('node packages/cli/bin/meshguard.js', `node ${join(root, 'packages/cli/bin/meshguard.js')}`)
    if (step.background) {
      const env = step.dir === 'frontend' ? { DOCUMENTS_URL: `http://localhost:${ports.get('3000') ?? ''}` } : {}
      const { port, printed } = await startInBackground({ ...step, script }, env)
      ports.set(step.dir === 'documents' ? '3000' : '3001', port)
      outputs.push({ step, stdout: printed, expected: step.output && withPorts(step.output.text) })
    } else {
      const shim = `curl() { ${JSON.stringify(process.execPath)} ${JSON.stringify(CURL)} "$@"; }`
      const { stdout } = await run('bash', ['-c', `${shim}\nset -e\n${script}`], { cwd: join(work, step.dir), env: cleanEnv, maxBuffer: 16 * 1024 * 1024 })
      outputs.push({ step, stdout, expected: step.output && withPorts(step.output.text) })
    }
  }
}, 10 * MINUTES)

afterAll(async () => {
  for (const child of children) if (child.pid !== undefined && child.exitCode === null) process.kill(-child.pid, 'SIGTERM')
  if (work) await rm(work, { recursive: true, force: true })
})

describe('docs/getting-started.md, run as written', () => {
  it('has the whole path: two inits, installs, tests, two servers, the calls and the audit', () => {
    const scripts = steps().map((s) => s.script)
    expect(scripts.filter((s) => s.includes(' init ')).length).toBe(2)
    expect(scripts.filter((s) => s.startsWith('npm run dev')).length).toBe(2)
    expect(scripts.some((s) => s.includes('curl '))).toBe(true)
    expect(outputs.length).toBe(steps().length)
  })

  it('prints what the page shows, after every command', () => {
    for (const { step, stdout, expected } of outputs) {
      if (step.output === undefined) continue
      if (step.output.like) {
        // The first line up to its first clause: npm adds `, and audited N packages` only where auditing is on.
        const first = (text: string): string => shape(text.split('\n').find((l) => l.trim() !== '') ?? '').split(/,| in /)[0] ?? ''
        expect(first(stdout), step.script).toBe(first(step.output.text))
      } else {
        expect(stdout, step.script).toBe(expected)
      }
    }
  })

  it('answers 200 through the second hop, 403 from the second service, and 401', () => {
    const calls = outputs.find(({ step }) => step.script.includes('curl '))
    expect(calls?.stdout.trim().split('\n')).toEqual(['{"id":"1","owner":"alice"} 200', '403', '401'])
  })

  it('the second service decided both calls, for frontend acting for alice', async () => {
    const records = (await readFile(join(work, 'documents', 'audit.jsonl'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as { outcome: string; workloadId: string; actorId: string })
    expect(records.map((r) => [r.outcome, r.workloadId, r.actorId])).toEqual([
      ['allowed', 'spiffe://dev.local/ns/default/sa/frontend', 'alice'],
      ['denied', 'spiffe://dev.local/ns/default/sa/frontend', 'alice'],
    ])
  })
})
