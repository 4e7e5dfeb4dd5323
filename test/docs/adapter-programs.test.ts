/**
 * The whole services of docs/adapters/fastify.md and docs/adapters/nestjs.md (blocks marked
 * `<!-- program: NAME -->`) run: each is transpiled as written (code-blocks.test.ts type-checks
 * it), started in a directory holding the policies and trust files it names, and answers HTTP
 * requests. Only its port changes (a free one instead of 3000, printed once it listens).
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { generateKeyPairSync } from 'node:crypto'
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import ts from 'typescript'
import { afterAll, describe, expect, it } from 'vitest'
import { untilListening } from '../support/listening.js'

const root = fileURLToPath(new URL('../../', import.meta.url))
// Inside the repository, so `@meshguard/*` and the frameworks resolve through the root node_modules.
const scratch = join(root, '.tmp', 'docs-programs')
const children: ChildProcess[] = []

afterAll(async () => {
  for (const child of children) if (child.exitCode === null) child.kill('SIGTERM')
  await rm(scratch, { recursive: true, force: true })
})

async function program(page: string, name: string): Promise<string> {
  const text = await readFile(join(root, page), 'utf8')
  const code = new RegExp(`<!-- program: ${name} -->\\n\`\`\`ts\\n([\\s\\S]*?)\`\`\``).exec(text)?.[1]
  if (code === undefined) throw new Error(`${page} has no <!-- program: ${name} --> block`)
  return code
}

const policy = (kind: string, action: string, role: string): string => `apiVersion: api.cerbos.dev/v1
resourcePolicy:
  resource: ${kind}
  version: default
  rules:
    - actions: ["${action}"]
      effect: EFFECT_ALLOW
      roles: ["${role}"]
`

const jwks = (): string => {
  const { publicKey } = generateKeyPairSync('ed25519')
  return JSON.stringify({ keys: [{ ...publicKey.export({ format: 'jwk' }), kid: 'k1', alg: 'EdDSA', use: 'sig' }] })
}

/**
 * Writes the program (port 3000 → any free port, which it prints) with the files it reads, starts
 * it, and resolves to its base URL once it listens.
 */
async function start(name: string, code: string, listen: { written: string; port: string }, files: Record<string, string>): Promise<string> {
  const dir = join(scratch, name)
  await rm(dir, { recursive: true, force: true })
  for (const [path, text] of Object.entries(files)) {
    await mkdir(join(dir, path, '..'), { recursive: true })
    await writeFile(join(dir, path), text)
  }
  expect(code, `${name}: the listen call`).toContain(listen.written)
  const source = code.replace(listen.written, listen.written.replace('3000', '0')) + `\nconsole.log(\`listening on \${${listen.port}}\`)\n`
  const js = ts.transpileModule(source, {
    compilerOptions: { target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.ESNext, experimentalDecorators: true },
  }).outputText
  await writeFile(join(dir, 'program.mjs'), js)
  const child = spawn(process.execPath, ['program.mjs'], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] })
  children.push(child)
  return `http://127.0.0.1:${(await untilListening(child, /listening on (\d+)/, name)).port}`
}

describe('whole programs in the adapter docs', () => {
  it('the Fastify service serves its route and refuses a call without credentials (401)', async () => {
    const base = await start(
      'fastify',
      await program('docs/adapters/fastify.md', 'fastify'),
      { written: 'await app.listen({ port: 3000 })', port: 'app.server.address().port' },
      { 'policies/payment.yaml': policy('payment', 'charge', 'orders'), 'trust/orders.jwks.json': jwks() },
    )
    const response = await fetch(`${base}/payments/p1/charge`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ customer: 'c1', amount: 5 }) })
    expect(response.status).toBe(401)
    expect(await response.json()).toMatchObject({ code: 'ERR_AUTHZ_IDENTITY_MISSING', reason: 'token_missing', tokenKind: 'workload' })
  }, 60_000)

  it('the NestJS service answers its public route (200) and refuses its protected one without credentials (401)', async () => {
    const base = await start(
      'nestjs',
      await program('docs/adapters/nestjs.md', 'nestjs'),
      { written: 'await app.listen(3000)', port: 'app.getHttpServer().address().port' },
      { 'policies/review.yaml': policy('review', 'read', 'employee-service'), 'trust/employee-service.jwks.json': jwks() },
    )
    const health = await fetch(`${base}/health`)
    expect(health.status).toBe(200)
    expect(await health.json()).toEqual({ ok: true })
    const review = await fetch(`${base}/reviews/r1`)
    expect(review.status).toBe(401)
    expect(await review.json()).toMatchObject({ code: 'ERR_AUTHZ_IDENTITY_MISSING', reason: 'token_missing' })
  }, 60_000)
})
