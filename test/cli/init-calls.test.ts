/**
 * `meshguard init --calls DIR` for each framework: a `documents` service and a `frontend` that
 * calls it are made, both are started as `npm run dev` starts them (development trust), and a call
 * to `frontend` for alice makes the second hop: 200 with the document `documents` answered, 403 when
 * `documents` refuses, 401 without credentials. The services run from a directory inside this
 * repository, so their packages resolve to the workspace's (test/install runs them from tarballs).
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { readFile, rm } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, describe, expect, it } from 'vitest'
import { untilListening } from '../support/listening.js'
import { runCliInProcess } from '../support/run-cli.js'
import { auditRecordsOf } from '../support/audit-file.js'

const root = fileURLToPath(new URL('../../', import.meta.url))
const scratch = join(root, '.tmp', 'init-calls')
const children: ChildProcess[] = []

afterAll(async () => {
  for (const child of children) if (child.exitCode === null) child.kill('SIGTERM')
  await rm(scratch, { recursive: true, force: true })
})

/** Starts `src/server.mjs` in `dir` with its development settings; resolves to the port it took. */
async function serve(dir: string, env: Record<string, string>): Promise<number> {
  const child = spawn(process.execPath, ['--env-file=.env.development', 'src/server.mjs'], { cwd: dir, env: { ...process.env, ...env, PORT: '0' }, stdio: ['ignore', 'pipe', 'pipe'] })
  children.push(child)
  return Number((await untilListening(child, /listening on http:\/\/localhost:(\d+)/, dir)).port)
}

interface AuditRecord {
  outcome: string
  workloadId?: string
  actorId?: string
}

/** The audit records in `dir`, once `count` are written. */
function records(dir: string, count: number): Promise<AuditRecord[]> {
  return auditRecordsOf<AuditRecord>(join(dir, 'audit.jsonl'), count)
}

/** Runs a scaffold's `npm run <script>` (a `meshguard` command) in-process, in its directory. */
async function npmScript(dir: string, script: string, extra: string[]): Promise<string> {
  const manifest = JSON.parse(await readFile(join(dir, 'package.json'), 'utf8')) as { scripts: Record<string, string> }
  const argv = (manifest.scripts[script] ?? '').split(' ').slice(1)
  const cwd = process.cwd()
  process.chdir(dir)
  try {
    const run = await runCliInProcess([...argv, ...extra])
    expect(run.code, run.stderr).toBe(0)
    return run.stdout.trim()
  } finally {
    process.chdir(cwd)
  }
}

describe.each(['express', 'fastify', 'nestjs'])('meshguard init --calls, %s', (framework) => {
  it('makes a second service whose route calls the first for its user', async () => {
    const base = join(scratch, framework)
    await rm(base, { recursive: true, force: true })
    const documents = join(base, 'documents')
    const frontend = join(base, 'frontend')
    expect((await runCliInProcess(['init', documents, '--framework', framework])).code).toBe(0)
    const init = await runCliInProcess(['init', frontend, '--calls', documents, '--framework', framework])
    expect(init.code, init.stderr).toBe(0)
    expect(init.stdout).toContain(`It calls documents at http://localhost:3000. Updated ${documents}:\n  - config/trust.development.json trusts frontend's key`)
    expect(await readFile(join(documents, 'policies', 'document.yaml'), 'utf8')).toContain('roles: ["caller", "frontend"]')
    // Both compile and pass their policy tests.
    for (const dir of [documents, frontend]) expect((await runCliInProcess(['compile', join(dir, 'policies')])).code).toBe(0)

    const documentsPort = await serve(documents, {})
    const frontendPort = await serve(frontend, { DOCUMENTS_URL: `http://localhost:${documentsPort}` })
    const alice = await npmScript(frontend, 'user-token', ['--sub', 'alice', '--role', 'employee'])
    const caller = await npmScript(frontend, 'token', ['--actor', alice])
    const headers = { authorization: `Bearer ${caller}`, 'x-meshguard-actor': alice }
    const url = (id: string): string => `http://localhost:${frontendPort}/documents/${id}`

    const own = await fetch(url('1'), { headers })
    expect(own.status).toBe(200)
    expect(await own.json()).toEqual({ id: '1', owner: 'alice' })
    const bobs = await fetch(url('2'), { headers })
    expect(bobs.status).toBe(403)
    expect(await bobs.json()).toMatchObject({ code: 'ERR_AUTHZ_DENIED' })
    expect((await fetch(url('1'))).status).toBe(401)

    // documents decided both forwarded calls, for frontend acting for alice; frontend all three.
    expect((await records(documents, 2)).map((r) => [r.outcome, r.workloadId, r.actorId])).toEqual([
      ['allowed', 'spiffe://dev.local/ns/default/sa/frontend', 'alice'],
      ['denied', 'spiffe://dev.local/ns/default/sa/frontend', 'alice'],
    ])
    expect((await records(frontend, 3)).map((r) => r.outcome)).toEqual(['allowed', 'allowed', 'unauthenticated'])
  }, 120_000)
})

describe('meshguard init --calls, refusals', () => {
  it('refuses a directory that init did not make, and the callee\'s own name', async () => {
    const notAService = await runCliInProcess(['init', join(scratch, 'x'), '--calls', join(scratch, 'nothing-here')])
    expect(notAService.code).toBe(2)
    expect(notAService.stderr).toContain('is not a service made by meshguard init (no readable package.json)')
    const documents = join(scratch, 'refusals', 'documents')
    await runCliInProcess(['init', documents])
    const sameName = await runCliInProcess(['init', join(scratch, 'refusals', 'other'), '--calls', documents, '--name', 'documents'])
    expect(sameName.code).toBe(2)
    expect(sameName.stderr).toContain('the new service needs another name than documents')
  })
})
