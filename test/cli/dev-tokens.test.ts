/**
 * The development token commands, end to end through a real verifier: `meshguard user-token` mints
 * an actor token from a local development issuer, `meshguard token --actor` mints a workload token
 * bound to it, and the pair passes an `actor: 'required'` check only together. Also: `check`
 * reports conditions that failed to evaluate.
 */
import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { runCliInProcess } from '../support/run-cli.js'
import { createIdentityVerifier, MeshguardError, type IdentityVerifier } from '@meshguard/core'
import { DEV_ACTOR_AUDIENCE, DEV_ISSUER } from '../../packages/cli/src/dev-issuer.js'
import { tempPolicyDirs } from '../../packages/core/test/support/policy-dirs.js'

const meshguard = (argv: string[], stdin = ''): ReturnType<typeof runCliInProcess> => runCliInProcess(argv, stdin)

const CALLER = 'spiffe://dev.local/ns/default/sa/caller'
const SERVICE = 'spiffe://dev.local/ns/default/sa/orders'
const claimsOf = (token: string): Record<string, unknown> => JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8')) as Record<string, unknown>

const dirs = tempPolicyDirs('meshguard-dev-tokens-')
let dir: string
let verifier: IdentityVerifier

/** Verifies the pair as a service with development trust would; resolves to the caller or the error reason. */
async function verifyPair(workload: string, actor?: string): Promise<string | Awaited<ReturnType<IdentityVerifier['verify']>>> {
  try {
    return await verifier.verify({ authorization: `Bearer ${workload}`, ...(actor ? { 'x-meshguard-actor': actor } : {}) }, { actor: 'required' })
  } catch (err) {
    if (err instanceof MeshguardError) return err.reason
    throw err
  }
}

const workloadToken = async (extra: string[] = []): Promise<string> => {
  const run = await meshguard(['token', '--key', join(dir, 'caller', 'caller-1.key.pem'), '--kid', 'caller-1', '--id', CALLER, '--aud', SERVICE, ...extra])
  expect(run.stderr).toBe('')
  return run.stdout.trim()
}

beforeAll(async () => {
  dir = await dirs.create()
  expect((await meshguard(['keys', '--out', join(dir, 'caller'), '--kid', 'caller-1'])).code).toBe(0)
  // The first user-token call creates the issuer, so the trust below can read its JWKS.
  expect((await meshguard(['user-token', '--issuer-dir', join(dir, 'issuer'), '--sub', 'warm-up'])).code).toBe(0)
  verifier = createIdentityVerifier({
    audience: SERVICE,
    trust: {
      workloads: [{ issuer: CALLER, keys: { jwksFile: join(dir, 'caller', 'jwks.json') } }],
      actors: [{ issuer: DEV_ISSUER, keys: { jwksFile: join(dir, 'issuer', 'jwks.json') }, audiences: [DEV_ACTOR_AUDIENCE] }],
    },
  })
})
afterAll(() => dirs.removeAll())

describe('meshguard user-token', () => {
  it('mints a user token with the chosen sub, roles and attributes, which the verifier maps to act.user', async () => {
    const run = await meshguard(['user-token', '--issuer-dir', join(dir, 'issuer'), '--sub', 'alice', '--role', 'employee', '--role', 'manager', '--attr', 'department=engineering', '--attr', 'level=3'])
    expect(run.code).toBe(0)
    const alice = run.stdout.trim()
    expect(claimsOf(alice)).toMatchObject({ iss: DEV_ISSUER, sub: 'alice', aud: DEV_ACTOR_AUDIENCE, roles: ['employee', 'manager'], department: 'engineering', level: 3 })
    const caller = await verifyPair(await workloadToken(['--actor', alice]), alice)
    if (typeof caller === 'string') throw new Error(`expected a verified caller, got ${caller}`)
    expect(caller.actor).toMatchObject({ id: 'alice', type: 'user', roles: ['employee', 'manager'] })
    expect(caller.principal.attr?.['act']).toMatchObject({ user: { id: 'alice', roles: ['employee', 'manager'], attr: { department: 'engineering', level: 3 } } })
  })

  it('mints an AI agent token with --agent', async () => {
    const agent = (await meshguard(['user-token', '--issuer-dir', join(dir, 'issuer'), '--sub', 'report-bot', '--agent', '--role', 'ai_agent'])).stdout.trim()
    const caller = await verifyPair(await workloadToken(['--actor', agent]), agent)
    if (typeof caller === 'string') throw new Error(`expected a verified caller, got ${caller}`)
    expect(caller.actor).toMatchObject({ id: 'report-bot', type: 'agent', roles: ['ai_agent'] })
  })

  it('keeps one issuer key across calls (the JWKS services trust does not change)', async () => {
    const before = await readFile(join(dir, 'issuer', 'jwks.json'), 'utf8')
    expect((await meshguard(['user-token', '--issuer-dir', join(dir, 'issuer'), '--sub', 'bob'])).code).toBe(0)
    expect(await readFile(join(dir, 'issuer', 'jwks.json'), 'utf8')).toBe(before)
  })

  it('a registered claim cannot be overridden through --attr', async () => {
    const token = (await meshguard(['user-token', '--issuer-dir', join(dir, 'issuer'), '--sub', 'mallory', '--attr', 'iss=https://idp.example.org', '--attr', 'sub=alice'])).stdout.trim()
    expect(claimsOf(token)).toMatchObject({ iss: DEV_ISSUER, sub: 'mallory' })
  })

  it('refuses a missing --sub, --issuer-dir or a malformed --attr with usage (exit 2)', async () => {
    expect((await meshguard(['user-token', '--issuer-dir', join(dir, 'issuer')])).code).toBe(2)
    expect((await meshguard(['user-token', '--sub', 'alice'])).code).toBe(2)
    expect((await meshguard(['user-token', '--issuer-dir', join(dir, 'issuer'), '--sub', 'a', '--attr', 'novalue'])).code).toBe(2)
  })
})

describe('meshguard token --actor', () => {
  let alice: string
  beforeAll(async () => {
    alice = (await meshguard(['user-token', '--issuer-dir', join(dir, 'issuer'), '--sub', 'alice'])).stdout.trim()
  })

  it('binds the workload token to the actor token: ath = base64url(sha256(actor token))', async () => {
    const { createHash } = await import('node:crypto')
    const workload = await workloadToken(['--actor', alice])
    expect(claimsOf(workload)['ath']).toBe(createHash('sha256').update(alice).digest('base64url'))
  })

  it('reads the actor token from a file too', async () => {
    await writeFile(join(dir, 'alice.jwt'), `${alice}\n`)
    const workload = await workloadToken(['--actor', join(dir, 'alice.jwt')])
    expect(typeof (await verifyPair(workload, alice))).toBe('object')
  })

  it('an unbound workload token, or one bound to another actor token, is refused with actor_binding_mismatch', async () => {
    expect(await verifyPair(await workloadToken(), alice)).toBe('actor_binding_mismatch')
    const bob = (await meshguard(['user-token', '--issuer-dir', join(dir, 'issuer'), '--sub', 'bob'])).stdout.trim()
    expect(await verifyPair(await workloadToken(['--actor', bob]), alice)).toBe('actor_binding_mismatch')
  })

  it('refuses an --actor that is neither a token nor a readable file', async () => {
    const run = await meshguard(['token', '--key', join(dir, 'caller', 'caller-1.key.pem'), '--kid', 'caller-1', '--id', CALLER, '--aud', SERVICE, '--actor', join(dir, 'missing.jwt')])
    expect(run.code).toBe(2)
    expect(run.stderr).toContain('neither a token nor a readable file')
  })
})

describe('meshguard check reports evaluation errors', () => {
  it('prints each condition that failed to evaluate on stderr; stdout stays the PDP answer', async () => {
    const policies = await dirs.create({
      'order.yaml': [
        'apiVersion: api.cerbos.dev/v1',
        'resourcePolicy:',
        '  resource: order',
        '  version: default',
        '  rules:',
        '    - actions: ["read"]',
        '      effect: EFFECT_ALLOW',
        '      roles: ["*"]',
        '      condition:',
        '        match:',
        '          expr: request.principal.attr.act.usr.id == request.resource.attr.owner',
        '',
      ].join('\n'),
    })
    const request = { requestId: 'r1', principal: { id: 'caller', roles: ['caller'], attr: { act: { user: { id: 'alice' } } } }, resources: [{ resource: { kind: 'order', id: 'o-1', attr: { owner: 'alice' } }, actions: ['read'] }] }
    const run = await meshguard(['check', '--policies', policies], `${JSON.stringify(request)}\n`)
    expect(run.code).toBe(0)
    expect(JSON.parse(run.stdout)).toEqual({ requestId: 'r1', results: [{ resource: { id: 'o-1', kind: 'order' }, actions: { read: 'EFFECT_DENY' } }] })
    expect(run.stderr).toMatch(/^line 1: order o-1: evaluation error in `request\.principal\.attr\.act\.usr\.id == request\.resource\.attr\.owner`: .*usr/m)
  })
})
