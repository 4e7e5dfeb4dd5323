/**
 * `meshguard tts --config FILE` with a `sharedState.redis` section, as an operator runs replicas:
 * two processes of the built binary, one configuration, a real redis-server on loopback. An
 * assertion spent at one is refused at the other; an unreachable Redis stops start-up.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { generateKeyPairSync } from 'node:crypto'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ACTOR_AUDIENCE, createIdentityFixture, TRUST_DOMAIN, USER_ISSUER, type IdentityFixture } from '../support/identity.js'
import { POLICY_DIR } from '../../packages/txn-token-service/test/support/tts.js'
import { startRedisServer } from '../../scripts/redis-server.mjs'
import { CLI_BIN } from '../support/run-cli.js'
import { freePort, gatewayExchangeForm } from '../support/tts-cli.js'

/** A `meshguard tts` process; resolves once it listens, rejects with its output if it exits first. */
function startTts(config: string, port: number, nodeOptions: string[] = []): Promise<{ child: ChildProcess; stderr: () => string }> {
  const child = spawn(process.execPath, [...nodeOptions, CLI_BIN, 'tts', '--config', config, '--port', String(port)], { stdio: ['ignore', 'pipe', 'pipe'] })
  let stderr = ''
  return new Promise((resolve, reject) => {
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString()
      if (stderr.includes('listening on')) resolve({ child, stderr: () => stderr })
    })
    child.once('exit', (code) => reject(new Error(`tts exited with ${code}: ${stderr}`)))
  })
}

describe('meshguard tts replicas with sharedState', () => {
  let dir: string
  let ids: IdentityFixture
  let redisServer: Awaited<ReturnType<typeof startRedisServer>>
  const replicas: Array<{ child: ChildProcess; stderr: () => string; url: string }> = []
  /** The issuer: the address a load balancer in front of the replicas would have. */
  const issuer = 'http://127.0.0.1:8443'
  const config = (sharedState: unknown): string => {
    const file = join(dir, `tts-${Math.random().toString(36).slice(2)}.json`)
    writeFileSync(
      file,
      JSON.stringify({
        issuer,
        trustDomain: TRUST_DOMAIN,
        signingKeys: [{ file: 'tts-1.pem', kid: 'tts-1' }],
        trust: { workloads: [{ issuer: ids.services['gateway']?.id, keys: { jwksFile: 'gateway.jwks.json' } }] },
        subjectIssuers: [{ issuer: USER_ISSUER, keys: { jwks: { keys: [ids.userIssuer.publicJwk] } }, audiences: [ACTOR_AUDIENCE] }],
        policies: POLICY_DIR,
        audit: 'off',
        sharedState,
      }),
    )
    return file
  }

  beforeAll(async () => {
    ids = await createIdentityFixture({ services: ['gateway'] })
    dir = mkdtempSync(join(tmpdir(), 'meshguard-tts-shared-'))
    writeFileSync(join(dir, 'tts-1.pem'), generateKeyPairSync('ed25519').privateKey.export({ format: 'pem', type: 'pkcs8' }).toString())
    writeFileSync(join(dir, 'gateway.jwks.json'), JSON.stringify({ keys: [ids.services['gateway']?.publicJwk] }))
    redisServer = await startRedisServer()
    // Timeouts no answer of a working Redis reaches, however loaded this machine is.
    const file = config({ redis: { url: redisServer.url, timeoutMs: 10_000, connectTimeoutMs: 60_000 } })
    for (let i = 0; i < 2; i++) {
      const port = await freePort()
      replicas.push({ ...(await startTts(file, port)), url: `http://127.0.0.1:${port}` })
    }
  }, 600_000)
  afterAll(async () => {
    for (const { child } of replicas) if (child.exitCode === null) child.kill('SIGKILL')
    await redisServer.stop()
    rmSync(dir, { recursive: true, force: true })
  })

  const exchange = async (url: string, form: Record<string, string>): Promise<{ status: number; body: Record<string, unknown> }> => {
    const response = await fetch(`${url}/token`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(form) })
    return { status: response.status, body: (await response.json()) as Record<string, unknown> }
  }

  it('says where state is shared, and refuses at one replica an assertion spent at the other', async () => {
    for (const { stderr } of replicas) expect(stderr()).toContain(`state shared in Redis at 127.0.0.1:${redisServer.port}`)
    const form = await gatewayExchangeForm(ids, issuer)
    const [first, second] = replicas
    expect((await exchange(String(first?.url), form)).status).toBe(200)
    const replayed = await exchange(String(second?.url), form)
    expect([replayed.status, replayed.body['error']]).toEqual([401, 'invalid_client'])
  })

  it('stops cleanly on SIGTERM with the Redis connection open', async () => {
    for (const { child } of replicas) {
      const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
      child.kill('SIGTERM')
      expect(await exited).toBe(0)
    }
  })

  it('does not start when Redis cannot be reached, naming the section', async () => {
    const closed = await freePort()
    const error = await startTts(config({ redis: { url: `redis://127.0.0.1:${closed}`, connectTimeoutMs: 300 } }), await freePort()).then(
      ({ child }) => {
        child.kill('SIGKILL')
        return 'started'
      },
      (err: unknown) => String(err),
    )
    expect(error).toMatch(/exited with [1-9]/)
    expect(error).toContain(`sharedState.redis: cannot connect to Redis at 127.0.0.1:${closed}`)
  })

  it('names the package when node-redis is not installed', async () => {
    // A module hook that makes `redis` unresolvable, as on a machine without it.
    const hooks = join(dir, 'no-redis-hooks.mjs')
    writeFileSync(
      hooks,
      `export async function resolve(specifier, context, next) {
        if (specifier === 'redis') throw Object.assign(new Error("Cannot find package 'redis'"), { code: 'ERR_MODULE_NOT_FOUND' })
        return next(specifier, context)
      }`,
    )
    const register = join(dir, 'no-redis.mjs')
    writeFileSync(register, `import { register } from 'node:module'\nregister(${JSON.stringify(pathToFileURL(hooks).href)})\n`)
    const error = await startTts(config({ redis: { url: redisServer.url } }), await freePort(), ['--import', pathToFileURL(register).href]).then(
      ({ child }) => {
        child.kill('SIGKILL')
        return 'started'
      },
      (err: unknown) => String(err),
    )
    expect(error).toContain('sharedState.redis: needs the redis package (node-redis): npm install redis')
  })
})
