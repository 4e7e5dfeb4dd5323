/**
 * A sample service runs as its own process too: `examples/demo/src/child.mjs` starts it from a JSON
 * launch request, it answers over HTTP, refuses an unauthenticated call with an audit record, and
 * SIGTERM stops it cleanly with the audit log flushed to its file.
 */
import type { ChildProcess } from 'node:child_process'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { launchReviewService } from '../support/sample-child.js'

let child: ChildProcess | undefined
let dir: string | undefined

afterAll(async () => {
  if (child && child.exitCode === null) child.kill('SIGKILL')
  if (dir) await rm(dir, { recursive: true, force: true })
})

describe('a sample service as a child process', () => {
  it('starts, answers, audits, and stops on SIGTERM', async () => {
    dir = await mkdtemp(join(tmpdir(), 'meshguard-child-'))
    const auditFile = join(dir, 'audit.jsonl')
    const started = launchReviewService(auditFile)
    child = started
    const exit = new Promise<number | null>((resolve) => started.once('exit', (code) => resolve(code)))
    // launchReviewService spawns with every stdio piped (its ChildProcess type does not say so).
    const { stdout, stderr } = started
    if (stdout === null || stderr === null) throw new Error('the launcher pipes stdout and stderr')
    let errors = ''
    stderr.on('data', (d: Buffer) => (errors += d.toString('utf8')))
    const line = await new Promise<string>((resolve, reject) => {
      let out = ''
      stdout.on('data', (d: Buffer) => {
        out += d.toString('utf8')
        if (out.includes('\n')) resolve(out.split('\n')[0] ?? '')
      })
      started.once('exit', () => reject(new Error(`child exited early: ${errors}`)))
    })
    const { url, id } = JSON.parse(line) as { url: string; id: string }
    expect(id).toBe('spiffe://meshguard.example/ns/hr/sa/review-service')

    expect((await fetch(`${url}/health`)).status).toBe(200)
    const refused = await fetch(`${url}/reviews/rv-eng-1`)
    expect(refused.status).toBe(401)
    expect(await refused.json()).toMatchObject({ code: 'ERR_AUTHZ_IDENTITY_MISSING', reason: 'token_missing' })

    started.kill('SIGTERM')
    expect(await exit).toBe(0)
    const records = (await readFile(auditFile, 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>)
    expect(records).toHaveLength(1)
    expect(records[0]).toMatchObject({ kind: 'auth_failure', reason: 'token_missing', service: id })
  }, 60_000)
})
