/**
 * The examples in docs/cli.md are real: each command on that page runs (in-process, through the
 * CLI's own `main`) and prints what the page says it prints.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { runCliBinary, runCliInProcess } from '../support/run-cli.js'
import { createIdentityVerifier } from '@meshguard/core'

const root = fileURLToPath(new URL('../../', import.meta.url))
const page = await readFile(new URL('../../docs/cli.md', import.meta.url), 'utf8')

const meshguard = (argv: string[], stdin = ''): ReturnType<typeof runCliInProcess> => runCliInProcess(argv, stdin)

/** `pnpm [--silent] meshguard <args>` lines in the page's shell blocks. */
const commands = [...page.matchAll(/^\s*(?:\| )?pnpm (?:--silent )?meshguard ([^\n#]+)/gm)].map((m) => (m[1] ?? '').trim().split(/\s+/))

describe('docs/cli.md', () => {
  it('shows every command', () => {
    expect(commands.map((c) => c[0])).toEqual(['compile', 'check', 'plan', 'digest', 'keys', 'user-token', 'token', 'routes'])
    for (const command of ['check', 'plan', 'compile', 'digest', 'init', 'keys', 'token', 'user-token']) expect(page).toContain(`meshguard ${command} `)
  })

  it('compile prints the summary the page quotes and exits 0', async () => {
    const run = await meshguard((commands[0] ?? []).map((a) => (a.startsWith('examples/') ? root + a : a)))
    expect(run.code).toBe(0)
    const quoted = /`(PASSED: [^`]+)`/.exec(page)?.[1]
    expect(quoted).toBeDefined()
    expect(run.stdout).toContain(quoted)
  })

  it('check answers the request on the page with the response on the page', async () => {
    const request = /echo '([^']+)'/.exec(page)?.[1] ?? ''
    const response = /```json\n(.+)\n```/.exec(page)?.[1] ?? ''
    const run = await meshguard(['check', '--policies', `${root}examples/policies`], `${request}\n`)
    expect(run.code).toBe(0)
    expect(JSON.parse(run.stdout.trim())).toEqual(JSON.parse(response))
  })

  it('plan answers the request on the page with the response on the page', async () => {
    const request = [...page.matchAll(/echo '([^']+)'/g)][1]?.[1] ?? ''
    const response = [...page.matchAll(/```json\n(.+)\n```/g)][1]?.[1] ?? ''
    const run = await meshguard(['plan', '--policies', `${root}examples/policies`], `${request}\n`)
    expect(run.code).toBe(0)
    expect(JSON.parse(run.stdout.trim())).toEqual(JSON.parse(response))
  })

  it('routes prints the table the page quotes for the fixture app, and fails on its unguarded route', async () => {
    const line = commands.find((c) => c[0] === 'routes') ?? []
    // The built binary: the module it imports resolves the built adapter, as in a user's project.
    const run = await runCliBinary(line.map((a) => (a.startsWith('test/') ? root + a : a)))
    const quoted = /meshguard routes test\/[\s\S]*?prints\n\n```\n([\s\S]*?)```/.exec(page)?.[1] ?? ''
    expect(quoted).toContain('METHOD')
    expect(run.stdout).toBe(quoted)
    expect(run.code).toBe(1)
    expect(run.stderr).toContain('  DELETE /reviews/:id (unguarded)')
  })

  it('digest prints a sha256 hex digest', async () => {
    const run = await meshguard(['digest', `${root}examples/policies`])
    expect(run.code).toBe(0)
    expect(run.stdout.trim()).toMatch(/^[0-9a-f]{64}$/)
  })

  it('the development-token session runs as written in an empty directory, and the pair verifies', async () => {
    const session = commands.slice(commands.findIndex((c) => c[0] === 'keys'))
    const dir = await mkdtemp(join(tmpdir(), 'meshguard-cli-doc-'))
    const cwd = process.cwd()
    process.chdir(dir)
    try {
      const keys = await meshguard(session[0] ?? [])
      expect(keys.code).toBe(0)
      // The output the page quotes, line for line.
      const quoted = /makes the calling service's signing key pair[\s\S]*?```\n([\s\S]*?)```/.exec(page)?.[1] ?? ''
      expect(keys.stdout).toBe(quoted)
      // `user-token … > alice.jwt`: the redirect is the shell's.
      const userArgs = session[1] ?? []
      const redirect = userArgs.indexOf('>')
      const user = await meshguard(userArgs.slice(0, redirect))
      expect(user.code).toBe(0)
      await writeFile(userArgs[redirect + 1] ?? '', user.stdout)
      const workload = await meshguard(session[2] ?? [])
      expect(workload.code).toBe(0)
      const verifier = createIdentityVerifier({
        audience: 'spiffe://dev.local/ns/default/sa/orders',
        trust: {
          workloads: [{ issuer: 'spiffe://dev.local/ns/default/sa/caller', keys: { jwksFile: '.meshguard/keys/caller/jwks.json' } }],
          actors: [{ issuer: 'urn:meshguard:development-issuer', keys: { jwksFile: '.meshguard/dev-issuer/jwks.json' }, audiences: ['meshguard-development'] }],
        },
      })
      const caller = await verifier.verify({ authorization: `Bearer ${workload.stdout.trim()}`, 'x-meshguard-actor': user.stdout.trim() }, { actor: 'required' })
      expect(caller.principal.attr?.['act']).toMatchObject({ user: { id: 'alice', roles: ['employee', 'manager'], attr: { department: 'engineering' } } })
    } finally {
      process.chdir(cwd)
      await rm(dir, { recursive: true, force: true })
    }
  })
})
