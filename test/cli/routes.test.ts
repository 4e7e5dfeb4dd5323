/**
 * `meshguard routes MODULE`: the built CLI imports a real Express, Fastify and Nest app from a
 * module (fixtures/routes), prints the same route table for each, and with `--fail-unguarded`
 * exits 1 on the route nobody guards (exit 0 once it is gone).
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { runCliBinary } from '../support/run-cli.js'

const fixture = (name: string): string => fileURLToPath(new URL(`./fixtures/routes/${name}`, import.meta.url))

const APPS = [
  { framework: 'express', file: 'express-app.mjs', guarded: 'guardedApp', drift: 'unguarded' },
  { framework: 'fastify', file: 'fastify-app.mjs', guarded: 'createGuardedApp', drift: 'authenticated' },
  { framework: 'nestjs', file: 'nest-app.mjs', guarded: 'createGuardedApp', drift: 'authenticated' },
] as const

/** The table every adapter prints for the fixture app; `drift` is how the adapter treats a route without settings. */
function expectedTable(drift: string): string {
  const guardWidth = Math.max('authorize'.length, drift.length)
  const row = (method: string, path: string, guard: string, rest: string) => `${method.padEnd(6)}  ${path.padEnd(12)}  ${guard.padEnd(guardWidth)}  ${rest}`.trimEnd()
  return [
    row('METHOD', 'PATH', 'GUARD', 'RESOURCE  ACTION  ACTOR     SCOPE'),
    row('GET', '/health', 'public', ''),
    row('GET', '/reviews', 'list', 'review    read    default'),
    row('DELETE', '/reviews/:id', drift, ''),
    row('GET', '/reviews/:id', 'authorize', 'review    read    required  review.read'),
    '',
  ].join('\n')
}

describe.each(APPS)('meshguard routes on a $framework app', ({ framework, file, guarded, drift }) => {
  it('prints the route table of the app the default export builds, and exits 0 without --fail-unguarded', async () => {
    const run = await runCliBinary(['routes', fixture(file)])
    expect(run.stderr).toBe('')
    expect(run.code).toBe(0)
    expect(run.stdout).toBe(`${expectedTable(drift)}\n4 route(s) (${framework}), 1 without a policy check or a public marker\n`)
  })

  it('exits 1 with --fail-unguarded, naming the unguarded route', async () => {
    const run = await runCliBinary(['routes', fixture(file), '--fail-unguarded'])
    expect(run.code).toBe(1)
    expect(run.stderr).toBe(`meshguard routes: 1 route(s) without a policy check or a public marker:\n  DELETE /reviews/:id (${drift})\n`)
  })

  it('exits 0 with --fail-unguarded on the export where every route is guarded, and prints JSON with --json', async () => {
    const run = await runCliBinary(['routes', fixture(file), '--export', guarded, '--fail-unguarded', '--json'])
    expect(run.stderr).toBe('')
    expect(run.code).toBe(0)
    const printed = JSON.parse(run.stdout) as { framework: string; routes: Array<Record<string, unknown>>; unguarded: number }
    expect(printed.framework).toBe(framework)
    expect(printed.unguarded).toBe(0)
    const byPath = (a: Record<string, unknown>, b: Record<string, unknown>) => String(a['path']).localeCompare(String(b['path']))
    expect(printed.routes.sort(byPath)).toEqual([
      { method: 'GET', path: '/health', guard: 'public' },
      { method: 'GET', path: '/reviews', guard: 'list', resource: 'review', action: 'read', actor: 'default' },
      { method: 'GET', path: '/reviews/:id', guard: 'authorize', resource: 'review', action: 'read', actor: 'required', scope: ['review.read'] },
    ])
  })
})

describe('meshguard routes refusals', () => {
  it('refuses a module export that is not an app, and names the exports when the one asked for is missing', async () => {
    const notApp = await runCliBinary(['routes', fixture('guard.mjs'), '--export', 'guard'])
    expect(notApp.code).toBe(1)
    expect(notApp.stderr).toMatch(/is not an Express app or router, a Fastify instance or a Nest application/)
    const missing = await runCliBinary(['routes', fixture('express-app.mjs'), '--export', 'server'])
    expect(missing.code).toBe(1)
    expect(missing.stderr).toMatch(/has no export "server" \(it exports: default, guardedApp\)/)
  })

  it('exits 2 without a module', async () => {
    const run = await runCliBinary(['routes'])
    expect(run.code).toBe(2)
    expect(run.stderr).toMatch(/routes: give one MODULE/)
  })

  it('names the adapter package to install when the app has none beside it', async () => {
    // Outside the workspace, so no @meshguard/fastify can be found from the module.
    const dir = await mkdtemp(join(tmpdir(), 'meshguard-routes-'))
    try {
      const file = join(dir, 'app.mjs')
      await writeFile(file, 'export default { register() {}, ready() {}, inject() {}, close() {} }\n')
      const run = await runCliBinary(['routes', file])
      expect(run.code).toBe(1)
      expect(run.stderr).toMatch(/a fastify app needs the @meshguard\/fastify package beside it: npm install @meshguard\/fastify/)
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })
})
