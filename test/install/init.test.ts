/**
 * From nothing to a protected route, as a newcomer does it, outside this repository: the packages
 * are packed into tarballs (scripts/pack.mjs, as they would be published), `meshguard init` makes a
 * service in a fresh temporary directory for each framework, `npm install` installs it from those
 * tarballs and the registry, `npm test` runs its policy tests, `npm run dev` serves it, and the
 * session `init` printed runs verbatim in bash and answers 200, 403 and 401. Each framework's peers
 * are installed once (two copies of @nestjs/core break NestJS at run time).
 *
 * Needs the npm registry (the scaffold's framework and peers); the packages are built by `tsc -b`
 * before the suite.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { auditRecordsOf } from '../support/audit-file.js'

const run = promisify(execFile)
const root = fileURLToPath(new URL('../../', import.meta.url))
const BIN = join(root, 'packages/cli/bin/meshguard.js')
const CURL = fileURLToPath(new URL('./support/curl.mjs', import.meta.url))
const MINUTES = 60_000
// The project's npm runs as a newcomer's would: without the npm_* settings of the pnpm running this suite.
const cleanEnv = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.toLowerCase().startsWith('npm_')))

let work: string
let packs: string

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'meshguard-init-'))
  packs = join(work, 'packages')
  await run(process.execPath, [join(root, 'scripts/pack.mjs'), '--out', packs], { cwd: root })
}, 5 * MINUTES)

afterAll(async () => {
  if (work) await rm(work, { recursive: true, force: true })
})

/** Starts `npm run dev` and resolves to the port once the service says it listens. */
function startDev(dir: string): Promise<{ child: ChildProcess; port: number; output: () => string }> {
  // PORT=0: any free port; the service prints the one it got. Own process group, to stop npm's children too.
  const child = spawn('npm', ['run', 'dev'], { cwd: dir, env: { ...cleanEnv, PORT: '0' }, detached: true, stdio: ['ignore', 'pipe', 'pipe'] })
  let output = ''
  return new Promise((resolve, reject) => {
    const onData = (d: Buffer): void => {
      output += d.toString('utf8')
      const port = /listening on http:\/\/localhost:(\d+)/.exec(output)?.[1]
      if (port) resolve({ child, port: Number(port), output: () => output })
    }
    child.stdout.on('data', onData)
    child.stderr.on('data', onData)
    child.on('exit', (code) => reject(new Error(`npm run dev exited with ${code}:\n${output}`)))
  })
}

const stop = (child: ChildProcess): void => {
  if (child.pid !== undefined && child.exitCode === null) process.kill(-child.pid, 'SIGTERM')
}

describe.each(['express', 'fastify', 'nestjs'])('meshguard init --framework %s', (framework) => {
  let dir: string
  let printed: string

  beforeAll(async () => {
    dir = join(work, `${framework}-service`)
    const init = await run(process.execPath, [BIN, 'init', dir, '--framework', framework, '--packages', packs])
    printed = init.stdout
    await run('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline'], { cwd: dir, env: cleanEnv })
  }, 5 * MINUTES)

  it('prints the whole session: install, test, dev, tokens and three calls', () => {
    expect(printed).toContain(`cd ${dir}\n  npm install\n  npm test`)
    expect(printed.match(/^ {2}curl /gm)).toHaveLength(3)
  })

  it('installs one copy of each peer, from the tarballs', async () => {
    const peers = framework === 'nestjs' ? ['@nestjs/core', '@nestjs/common', '@opentelemetry/api'] : [framework, '@opentelemetry/api']
    for (const peer of peers) {
      const { stdout } = await run('npm', ['ls', peer, '--all', '--parseable'], { cwd: dir, env: cleanEnv })
      expect(new Set(stdout.split('\n').filter(Boolean)), peer).toEqual(new Set([join(dir, 'node_modules', peer)]))
    }
    const manifest = JSON.parse(await readFile(join(dir, 'node_modules/@meshguard/core/package.json'), 'utf8')) as { version: string }
    expect(manifest.version).toMatch(/^\d+\.\d+\.\d+/)
  })

  it('npm test compiles the policy and passes its test suite', async () => {
    const { stdout } = await run('npm', ['test'], { cwd: dir, env: cleanEnv })
    expect(stdout).toContain('PASSED: 1 suite(s), 5 check(s) (5 passed)')
  })

  it('npm run dev serves it, and the printed session answers 200, 403 and 401', async () => {
    const dev = await startDev(dir)
    try {
      const session = printed.slice(printed.indexOf('In a second terminal'))
      const lines = [...session.matchAll(/^ {2}(\S.*)$/gm)].map((m) => (m[1] ?? '').replaceAll('localhost:3000', `localhost:${dev.port}`))
      const expected = lines.filter((l) => l.startsWith('curl ')).map((l) => /# (\d{3})/.exec(l)?.[1])
      expect(expected).toEqual(['200', '403', '401'])
      const script = [`curl() { ${JSON.stringify(process.execPath)} ${JSON.stringify(CURL)} "$@"; }`, 'set -e', ...lines].join('\n')
      const { stdout } = await run('bash', ['-c', script], { cwd: dir, env: cleanEnv })
      expect(stdout.trim().split('\n')).toEqual(expected)
      // The 403 is in the audit log under the decisionId the response carried.
      const audit = await auditRecordsOf(join(dir, 'audit.jsonl'), 3)
      expect(audit.map((r) => r['outcome'])).toEqual(['allowed', 'denied', 'unauthenticated'])
    } finally {
      stop(dev.child)
    }
  }, 2 * MINUTES)

  it('without the dev script the development trust is not used: the service refuses to start', async () => {
    const start = run(process.execPath, ['src/server.mjs'], { cwd: dir, env: { ...cleanEnv, PORT: '0', MESHGUARD_ENV: '' } })
    await expect(start).rejects.toThrow(/config\/trust\.json trusts no caller yet/)
  })
})
