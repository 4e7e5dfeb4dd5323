/**
 * `meshguard explain`: one CheckResources request from stdin or a file, explained as a tree (or as
 * JSON), with the deciding rule marked and the values the conditions read.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import type { DecisionExplanation } from '@meshguard/core'
import { runCliInProcess } from '../support/run-cli.js'

const POLICIES = fileURLToPath(new URL('../adapters/fixtures/outputs', import.meta.url))

const request = JSON.stringify({
  principal: {
    id: 'spiffe://dev.local/ns/default/sa/employee-service',
    roles: ['employee-service'],
    attr: { act: { user: { id: 'alice', roles: ['manager'], attr: { department: 'engineering' } } } },
  },
  resources: [{ resource: { kind: 'review', id: 'r-people', attr: { department: 'people' } }, actions: ['read', 'delete'] }],
})

describe('meshguard explain', () => {
  it('prints why each action was denied, the condition that failed with the values it saw, and the deciding rule', async () => {
    const run = await runCliInProcess(['explain', '--policies', POLICIES], request)
    expect(run.stderr).toBe('')
    expect(run.code).toBe(0)
    const lines = run.stdout.split('\n')
    expect(lines).toContain('  read: DENY by resource.review.vdefault (no rule matched: denied by default)')
    expect(lines).toContain('        - request.principal.attr.act.user.attr.department == request.resource.attr.department')
    expect(lines).toContain('              request.resource.attr.department = "people"')
    expect(lines).toContain('  delete: DENY by resource.review.vdefault#nobody-deletes')
    expect(lines).toContain('    + resource.review.vdefault#nobody-deletes  DENY  [role employee-service]   <== decided')
    expect(lines).toContain('  derived roles: + manager_in_department, - hr_user')
  })

  it('reads the request from a file and prints JSON with --json', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'meshguard-explain-'))
    try {
      const file = join(dir, 'request.json')
      await writeFile(file, request)
      const run = await runCliInProcess(['explain', '--policies', POLICIES, '--request', file, '--json'])
      expect(run.code).toBe(0)
      const explanation = JSON.parse(run.stdout) as DecisionExplanation
      const actions = explanation.resources[0]?.actions ?? []
      expect(actions.map((a) => [a.action, a.effect, a.rule ?? null])).toEqual([
        ['read', 'EFFECT_DENY', null],
        ['delete', 'EFFECT_DENY', 'resource.review.vdefault#nobody-deletes'],
      ])
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })

  it('refuses a malformed request and a missing --policies', async () => {
    const bad = await runCliInProcess(['explain', '--policies', POLICIES], '{"principal":')
    expect([bad.code, bad.stderr]).toEqual([1, expect.stringContaining('invalid_json')])
    const usage = await runCliInProcess(['explain'], request)
    expect([usage.code, usage.stderr]).toEqual([2, expect.stringContaining('--policies DIR is required')])
  })
})

describe('docs/operations.md: the explain example', () => {
  it('prints what the page quotes, over the sample policies', async () => {
    const page = await import('node:fs/promises').then((fs) => fs.readFile(new URL('../../docs/operations.md', import.meta.url), 'utf8'))
    const section = page.slice(page.indexOf('## Explaining denials'))
    const input = /echo '([^']+)' \\\n\s+\| npx meshguard explain --policies policies/.exec(section)?.[1]
    const quoted = /prints \(`\+` held[^\n]*\n\n```\n([\s\S]*?)```/.exec(section)?.[1]
    expect(input).toBeDefined()
    expect(quoted).toBeDefined()
    const run = await runCliInProcess(['explain', '--policies', fileURLToPath(new URL('../../examples/policies', import.meta.url))], input)
    expect(run.code).toBe(0)
    // The digest line names the sample policies' current digest; the tree below it is compared whole.
    const [digestLine, ...tree] = run.stdout.split('\n')
    const [quotedDigest, ...quotedTree] = (quoted ?? '').split('\n')
    expect(digestLine).toMatch(/^policy set [0-9a-f]{12}$/)
    expect(quotedDigest).toMatch(/^policy set [0-9a-f]{12}$/)
    expect(tree).toEqual(quotedTree)
  })
})
