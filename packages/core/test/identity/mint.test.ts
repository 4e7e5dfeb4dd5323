import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ConfigError, MintError } from '../../src/errors.js'
import {
  createIdentityVerifier,
  createWorkloadIdentity,
  selfSignedTokenSource,
  tokenFileSource,
  type IdentityVerifier,
  type VerifiedCaller,
} from '../../src/identity/index.js'
import { createIdentityFixture, generateFixtureKey, serviceId, type IdentityFixture } from '../../../../test/support/identity.js'

const decode = (token: string): Record<string, unknown> =>
  JSON.parse(Buffer.from(token.split('.')[1] as string, 'base64url').toString()) as Record<string, unknown>
const bearer = (headers: Record<string, string>): string => (headers['authorization'] ?? '').slice('Bearer '.length)

describe('createWorkloadIdentity (self-signed)', () => {
  let ids: IdentityFixture
  let atReview: IdentityVerifier
  beforeAll(async () => {
    ids = await createIdentityFixture({ services: ['gateway', 'employee-service', 'review-service'] })
    atReview = createIdentityVerifier(ids.verifierOptions('review-service'))
  })

  for (const alg of ['EdDSA', 'ES256'] as const) {
    it(`mints ${alg} tokens a verifier accepts: aud = callee, short lifetime, unique jti`, async () => {
      const key = generateFixtureKey(alg, 'svc-1')
      const id = serviceId('svc')
      const identity = createWorkloadIdentity({ id, source: selfSignedTokenSource({ key: key.privateKey, kid: key.kid, alg }) })
      const verifier = createIdentityVerifier({
        audience: serviceId('callee'),
        trust: { workloads: [{ issuer: id, keys: { jwks: { keys: [key.publicJwk] } } }] },
      })
      const headers = await identity.headersFor({ audience: serviceId('callee') })
      const claims = decode(bearer(headers))
      expect(claims).toMatchObject({ iss: id, sub: id, aud: serviceId('callee') })
      expect((claims['exp'] as number) - (claims['iat'] as number)).toBe(300)
      const caller = await verifier.verify(headers)
      expect(caller.workload.id).toBe(id)
      const other = await identity.headersFor({ audience: serviceId('another') })
      expect(decode(bearer(other))['jti']).not.toBe(claims['jti'])
    })
  }

  it('forwards the actor, binds it, extends the act chain and propagates the transaction', async () => {
    const atEmployee = createIdentityVerifier(ids.verifierOptions('employee-service'))
    const inbound = await atEmployee.verify(
      await ids.headers({ from: 'gateway', to: 'employee-service', actor: 'alice', transactionId: 'txn-42' }),
      { actor: 'required' },
    )
    const employee = ids.workloadIdentity('employee-service')
    const headers = await employee.headersFor({ audience: serviceId('review-service'), caller: inbound })
    expect(headers['x-meshguard-txn']).toBe('txn-42')
    const claims = decode(bearer(headers))
    expect(claims['act']).toEqual({ sub: serviceId('gateway') })
    expect(claims['txn']).toBe('txn-42')
    const atC = await atReview.verify(headers, { actor: 'required' })
    expect(atC.actor?.id).toBe('alice')
    expect(atC.delegation.workloads).toEqual([serviceId('gateway')])
    expect(atC.transactionId).toBe('txn-42')
  })

  it('caches per (audience, actor) and re-mints shortly before expiry', async () => {
    let now = Date.now()
    const employee = ids.workloadIdentity('employee-service', { clock: () => now, refreshBefore: 60 })
    const a = await employee.headersFor({ audience: serviceId('review-service') })
    const b = await employee.headersFor({ audience: serviceId('review-service') })
    expect(b['authorization']).toBe(a['authorization'])
    const actor = await ids.mintActorToken('ed')
    const c = await employee.headersFor({ audience: serviceId('review-service'), actor })
    expect(c['authorization']).not.toBe(a['authorization'])
    now += 241_000 // 300 s lifetime, refresh 60 s before expiry
    const d = await employee.headersFor({ audience: serviceId('review-service') })
    expect(d['authorization']).not.toBe(a['authorization'])
  })

  it('refuses to forward an actor token that expired while a job outlived its request', async () => {
    let now = Date.now()
    const atEmployee = createIdentityVerifier(ids.verifierOptions('employee-service'))
    const inbound: VerifiedCaller = await atEmployee.verify(await ids.headers({ from: 'gateway', to: 'employee-service', actor: 'ed' }))
    const employee = ids.workloadIdentity('employee-service', { clock: () => now })
    now = inbound.expiresAt
    const err = await employee.headersFor({ audience: serviceId('review-service'), caller: inbound }).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(MintError)
    expect((err as MintError).reason).toBe('actor_expired')
  })

  it('refuses a chain deeper than its limit before sending anything', async () => {
    const atEmployee = createIdentityVerifier(ids.verifierOptions('employee-service'))
    const chain = [serviceId('a'), serviceId('b')]
    const token = await ids.mintWorkloadToken('gateway', { audience: 'employee-service', chain })
    const inbound = await atEmployee.verify({ authorization: `Bearer ${token}` })
    const employee = ids.workloadIdentity('employee-service', { maxActDepth: 2 })
    const err = await employee.headersFor({ audience: serviceId('review-service'), caller: inbound }).catch((e: unknown) => e)
    expect((err as MintError).reason).toBe('act_too_deep')
  })

  it('validates its configuration at creation', () => {
    const key = generateFixtureKey('EdDSA')
    expect(() => selfSignedTokenSource({ key: key.privateKey, kid: '' })).toThrow(ConfigError)
    expect(() => selfSignedTokenSource({ key: key.publicKey, kid: 'k' })).toThrow(ConfigError)
    expect(() => selfSignedTokenSource({ key: key.privateKey, kid: 'k', alg: 'ES256' })).toThrow(ConfigError)
    expect(() => selfSignedTokenSource({ key: key.privateKey, kid: 'k', claims: { aud: 'x' } })).toThrow(ConfigError)
    expect(() => createWorkloadIdentity({ id: 'spiffe://Example.org/x', source: selfSignedTokenSource({ key: key.privateKey, kid: 'k' }) })).toThrow(
      ConfigError,
    )
  })

  it('loads keys from a PEM file and from an environment variable', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mg-key-'))
    try {
      const key = generateFixtureKey('ES256', 'file-1')
      const pem = key.privateKey.export({ format: 'pem', type: 'pkcs8' }).toString()
      writeFileSync(join(dir, 'key.pem'), pem)
      process.env['MG_TEST_KEY'] = pem.replace(/\n/g, '\\n')
      for (const input of [{ file: join(dir, 'key.pem') }, { env: 'MG_TEST_KEY' }]) {
        const identity = createWorkloadIdentity({ id: serviceId('svc'), source: selfSignedTokenSource({ key: input, kid: key.kid }) })
        const verifier = createIdentityVerifier({
          audience: 'callee',
          trust: { workloads: [{ issuer: serviceId('svc'), keys: { jwks: { keys: [key.publicJwk] } } }] },
        })
        await expect(verifier.verify(await identity.headersFor({ audience: 'callee' }))).resolves.toBeDefined()
      }
      expect(() => selfSignedTokenSource({ key: { env: 'MG_TEST_KEY_ABSENT' }, kid: 'k' })).toThrow(ConfigError)
    } finally {
      delete process.env['MG_TEST_KEY']
      rmSync(dir, { recursive: true, force: true })
    }
  })
})

describe('tokenFileSource', () => {
  const dir = mkdtempSync(join(tmpdir(), 'mg-tokfile-'))
  afterAll(() => rmSync(dir, { recursive: true, force: true }))

  it('re-reads the token file when it changes and checks its audience', async () => {
    const ids = await createIdentityFixture({ services: ['svc', 'callee'] })
    const path = join(dir, 'token')
    const first = await ids.mintWorkloadToken('svc', { audience: 'callee' })
    writeFileSync(path, first)
    const source = tokenFileSource({ path })
    const identity = createWorkloadIdentity({ id: serviceId('svc'), source })
    expect(bearer(await identity.headersFor({ audience: serviceId('callee') }))).toBe(first)
    const second = await ids.mintWorkloadToken('svc', { audience: 'callee', claims: { rotated: true } })
    writeFileSync(path, `${second}\n`)
    // mtime resolution can be coarse: make sure it differs.
    const { utimesSync } = await import('node:fs')
    utimesSync(path, new Date(), new Date(Date.now() + 5000))
    // The same source, behind a minting cache that has not seen this audience yet, reads the new file.
    const fresh = createWorkloadIdentity({ id: serviceId('svc'), source })
    expect(bearer(await fresh.headersFor({ audience: serviceId('callee') }))).toBe(second)
    const err = await fresh.headersFor({ audience: serviceId('elsewhere') }).catch((e: unknown) => e)
    expect((err as MintError).reason).toBe('audience_unavailable')
    const missing = createWorkloadIdentity({ id: serviceId('svc'), source: tokenFileSource({ path: join(dir, 'absent') }) })
    expect(((await missing.headersFor({ audience: 'x' }).catch((e: unknown) => e)) as MintError).reason).toBe('token_source_unavailable')
  })
})
