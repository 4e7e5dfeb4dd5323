/**
 * `meshguard shadow`: a real audit log, recorded by a guard over the sample policies, replayed
 * against a candidate that no longer lets HR read every review: exactly the decisions the
 * candidate would change are printed, and records that are not replayable are counted as skipped.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { createGuardFixture } from '../adapters/guard-fixture.js'
import { runCliInProcess } from '../support/run-cli.js'

const CANDIDATE = fileURLToPath(new URL('../adapters/fixtures/candidate', import.meta.url))

describe('meshguard shadow', () => {
  it('prints the decisions a candidate policy set would change in a recorded audit log', async () => {
    const fixture = await createGuardFixture()
    const route = (department: string) => ({ resource: () => ({ kind: 'review', id: `r-${department}`, attr: { department } }), action: 'read' })
    const view = async (actor?: 'alice' | 'hana' | 'ed') => ({ method: 'GET', headers: await fixture.headers(actor), params: {}, request: {} })
    const hana = await fixture.guard.authorize(await view('hana'), route('engineering'))
    expect(hana.ok).toBe(true)
    expect((await fixture.guard.authorize(await view('alice'), route('engineering'))).ok).toBe(true)
    expect((await fixture.guard.authorize(await view('ed'), route('engineering'))).ok).toBe(false)
    expect((await fixture.guard.authorize({ method: 'GET', headers: {}, params: {}, request: {} }, route('engineering'))).ok).toBe(false)
    await fixture.audit.flush()
    const hanaRecord = fixture.records.find((r) => r.actorId === 'hana')!
    const dir = await mkdtemp(join(tmpdir(), 'meshguard-shadow-cli-'))
    try {
      const log = join(dir, 'audit.jsonl')
      await writeFile(log, `${fixture.records.map((r) => JSON.stringify(r)).join('\n')}\n{"torn line\n`)
      const run = await runCliInProcess(['shadow', '--policies', CANDIDATE, '--log', log])
      expect(run.stderr).toBe('')
      expect(run.code).toBe(0)
      const lines = run.stdout.trimEnd().split('\n')
      expect(lines).toEqual([
        `${hanaRecord.callId} ${hanaRecord.timestamp} review:r-engineering read: live ALLOW -> candidate DENY (resource.review.vdefault)`,
        expect.stringMatching(/^3 decisions replayed against .* \(policy set [0-9a-f]{12}\): 1 would differ; 2 records skipped/),
      ])
      // The same log from stdin.
      const piped = await runCliInProcess(['shadow', '--policies', CANDIDATE], fixture.records.map((r) => JSON.stringify(r)).join('\n'))
      expect(piped.stdout.split('\n')[0]).toBe(lines[0])
    } finally {
      await rm(dir, { recursive: true, force: true })
      await fixture.audit.close()
    }
  })
})
