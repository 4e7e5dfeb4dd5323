/**
 * `meshguard tts --config FILE` as a user runs it (the built binary in a child process): it serves
 * token exchange, rotates in a new signing key on SIGHUP, and stops cleanly on SIGTERM.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { generateKeyPairSync } from 'node:crypto'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { TOKEN_TYPES } from '@meshguard/txn-token-service'
import { createIdentityFixture, TRUST_DOMAIN, USER_ISSUER, ACTOR_AUDIENCE, type IdentityFixture } from '../support/identity.js'
import { POLICY_DIR } from '../../packages/txn-token-service/test/support/tts.js'
import { CLI_BIN } from '../support/run-cli.js'
import { freePort, gatewayExchangeForm } from '../support/tts-cli.js'

const pem = () => generateKeyPairSync('ed25519').privateKey.export({ format: 'pem', type: 'pkcs8' }).toString()

describe('meshguard tts', () => {
  let dir: string
  let child: ChildProcess
  let issuer: string
  let ids: IdentityFixture
  let stderr = ''
  const config = (keys: Array<{ file: string; kid: string }>, witKeys: Array<{ file: string; kid: string }> = [{ file: 'wit-1.pem', kid: 'wit-1' }]) => ({
    issuer,
    trustDomain: TRUST_DOMAIN,
    signingKeys: keys,
    trust: { workloads: [{ issuer: ids.services['gateway']?.id, keys: { jwksFile: 'gateway.jwks.json' } }] },
    subjectIssuers: [{ issuer: USER_ISSUER, keys: { jwks: { keys: [ids.userIssuer.publicJwk] } }, audiences: [ACTOR_AUDIENCE] }],
    policies: POLICY_DIR,
    audit: 'off',
    wit: { signingKeys: witKeys, registeredKeys: [{ clientId: ids.services['gateway']?.id, keys: { jwksFile: 'gateway.jwks.json' } }] },
  })

  beforeAll(async () => {
    ids = await createIdentityFixture({ services: ['gateway'] })
    dir = mkdtempSync(join(tmpdir(), 'meshguard-tts-'))
    writeFileSync(join(dir, 'tts-1.pem'), pem())
    writeFileSync(join(dir, 'wit-1.pem'), pem())
    writeFileSync(join(dir, 'gateway.jwks.json'), JSON.stringify({ keys: [ids.services['gateway']?.publicJwk] }))
    const port = await freePort()
    issuer = `http://127.0.0.1:${port}`
    writeFileSync(join(dir, 'tts.json'), JSON.stringify(config([{ file: 'tts-1.pem', kid: 'tts-1' }])))
    child = spawn(process.execPath, [CLI_BIN, 'tts', '--config', join(dir, 'tts.json'), '--port', String(port)], { stdio: ['ignore', 'pipe', 'pipe'] })
    await new Promise<void>((resolve, reject) => {
      child.stderr?.on('data', (d: Buffer) => {
        stderr += d.toString()
        if (stderr.includes('listening on')) resolve()
      })
      child.once('exit', (code) => reject(new Error(`tts exited with ${code}: ${stderr}`)))
    })
  })
  afterAll(() => {
    if (child.exitCode === null) child.kill('SIGKILL')
    rmSync(dir, { recursive: true, force: true })
  })

  const kids = async (path = '/.well-known/jwks.json') => ((await (await fetch(`${issuer}${path}`)).json()) as { keys: Array<{ kid: string }> }).keys.map((k) => k.kid)

  it('issues Txn-Tokens', async () => {
    const response = await fetch(`${issuer}/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams(await gatewayExchangeForm(ids, issuer)),
    })
    expect(await response.json()).toMatchObject({ token_type: 'N_A', issued_token_type: TOKEN_TYPES.txnToken })
    expect(response.status).toBe(200)
  })

  it('rotates in a new first key (and WIT key) on SIGHUP and stops on SIGTERM', async () => {
    expect(await kids()).toEqual(['tts-1'])
    expect(await kids('/.well-known/wit-jwks.json')).toEqual(['wit-1'])
    expect(stderr).toContain(`issuing WITs at ${issuer}/wit`)
    writeFileSync(join(dir, 'tts-2.pem'), pem())
    writeFileSync(join(dir, 'wit-2.pem'), pem())
    writeFileSync(
      join(dir, 'tts.json'),
      JSON.stringify(config([{ file: 'tts-2.pem', kid: 'tts-2' }, { file: 'tts-1.pem', kid: 'tts-1' }], [{ file: 'wit-2.pem', kid: 'wit-2' }, { file: 'wit-1.pem', kid: 'wit-1' }])),
    )
    const reloaded = new Promise<void>((resolve) => child.stderr?.on('data', () => stderr.includes('reloaded') && resolve()))
    child.kill('SIGHUP')
    await reloaded
    expect(await kids()).toEqual(['tts-1', 'tts-2'])
    expect(await kids('/.well-known/wit-jwks.json')).toEqual(['wit-1', 'wit-2'])
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
    child.kill('SIGTERM')
    expect(await exited).toBe(0)
  })
})
