/**
 * The built `meshguard` CLI (packages/cli/dist/bin.js, built by `tsc -b` before the tests run),
 * spawned as users and CI run it. `check` responses are compared with the real Cerbos PDP's HTTP
 * responses to the same requests, field by field.
 */
import { createPublicKey, verify, type JsonWebKey } from 'node:crypto'
import { readFile, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { runCliBinary } from '../support/run-cli.js'
import { EmbeddedEngine } from '@meshguard/core'
import { tempPolicyDirs } from '../../packages/core/test/support/policy-dirs.js'
import { startCerbosPdp, type CerbosPdp } from '../support/cerbos-pdp.js'

const STORE = fileURLToPath(new URL('../../conformance/cerbos/store', import.meta.url))
const EXAMPLES = fileURLToPath(new URL('../../examples/policies', import.meta.url))

const cli = runCliBinary

const lines = (text: string): unknown[] =>
  text
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as unknown)

/** Cerbos reports effectiveDerivedRoles in no fixed order (a Go set); compare them sorted. */
function sortDerivedRoles(response: unknown): unknown {
  return JSON.parse(
    JSON.stringify(response, (key, value: unknown) => (key === 'effectiveDerivedRoles' && Array.isArray(value) ? [...(value as string[])].sort() : value)),
  )
}

const JOHN = { id: 'john', roles: ['employee'], policyVersion: '20210210', attr: { department: 'marketing', geography: 'GB', team: 'design' } }
const LEAVE_REQUEST = {
  kind: 'leave_request',
  id: 'XX125',
  policyVersion: '20210210',
  attr: { department: 'marketing', geography: 'GB', id: 'XX125', owner: 'john', team: 'design' },
}

/** Requests covering attribution, scopes, outputs (values and errors), derived roles and validation. */
const REQUESTS = [
  { requestId: 'r1', includeMeta: true, principal: JOHN, resources: [{ actions: ['view:public', 'approve', 'defer'], resource: LEAVE_REQUEST }] },
  { principal: JOHN, resources: [{ actions: ['view:public'], resource: LEAVE_REQUEST }] },
  {
    includeMeta: true,
    principal: { id: 'john', roles: ['employee'], attr: JOHN.attr },
    resources: [
      { actions: ['view:public', 'create', 'error', 'approve'], resource: { kind: 'equipment_request', id: 'XX125', scope: 'acme', attr: LEAVE_REQUEST.attr } },
      { actions: ['x'], resource: { kind: 'nope', id: '1' } },
    ],
  },
  {
    request_id: 'snake',
    include_meta: true,
    principal: { ...JOHN, policyVersion: undefined, policy_version: '20210210' },
    resources: [{ actions: ['view:public'], resource: { ...LEAVE_REQUEST, policyVersion: undefined, policy_version: '20210210' } }],
  },
  {
    requestId: 'schema',
    includeMeta: true,
    principal: JOHN,
    resources: [{ actions: ['view:public', 'approve'], resource: { ...LEAVE_REQUEST, attr: { ...LEAVE_REQUEST.attr, department: 'xx' } } }],
  },
]

describe('meshguard check', () => {
  let pdp: CerbosPdp | undefined
  beforeAll(async () => {
    pdp = await startCerbosPdp({ policyDir: STORE, globals: { environment: 'test' }, schemaEnforcement: 'warn' })
  })
  afterAll(async () => {
    await pdp?.stop()
  })

  it('answers each line exactly as the Cerbos PDP HTTP API does', async () => {
    const run = await cli(
      ['check', '--policies', STORE, '--globals', '{"environment":"test"}', '--schema-enforcement', 'warn'],
      REQUESTS.map((r) => JSON.stringify(r)).join('\n'),
    )
    // stderr holds only the conditions that failed to evaluate (the PDP keeps those in its decision log).
    for (const line of run.stderr.split('\n').filter(Boolean)) expect(line).toMatch(/^line \d+: \S+ \S+: evaluation error in `.+`: .+$/)
    expect(run.code).toBe(0)
    const ours = lines(run.stdout)
    expect(ours).toHaveLength(REQUESTS.length)
    for (const [i, request] of REQUESTS.entries()) {
      const response = await fetch(`${pdp?.httpUrl}/api/check/resources`, { method: 'POST', body: JSON.stringify(request) })
      const theirs = (await response.json()) as Record<string, unknown>
      delete theirs['cerbosCallId']
      expect(sortDerivedRoles(ours[i]), `request ${i}`).toEqual(sortDerivedRoles(theirs))
    }
  })

  it('writes an error line with a code for a bad line and carries on', async () => {
    const good = JSON.stringify(REQUESTS[1])
    const run = await cli(
      ['check', '--policies', STORE],
      [good, 'not json', '', '{"requestId":"x","principal":{"id":"john"},"resources":[{"actions":["a"],"resource":{"kind":"k","id":"1"}}]}', '[]', good].join('\r\n'),
    )
    expect(run.code).toBe(0)
    const out = lines(run.stdout) as Record<string, unknown>[]
    expect(out).toHaveLength(5)
    expect(out[0]).toHaveProperty('results')
    expect(out[1]).toMatchObject({ code: 3, meshguardCode: 'ERR_AUTHZ_REQUEST_INVALID', reason: 'invalid_json', line: 2 })
    expect(out[2]).toMatchObject({ requestId: 'x', code: 3, reason: 'principal_roles_missing', line: 4 })
    expect(out[3]).toMatchObject({ code: 3, reason: 'request_not_object', line: 5 })
    expect(out[4]).toEqual(out[0])
  })

  it('refuses unknown fields like the PDP (code 3)', async () => {
    const request = { ...REQUESTS[1], principal: { ...JOHN, colour: 'red' } }
    const run = await cli(['check', '--policies', STORE], JSON.stringify(request))
    const ours = lines(run.stdout)[0] as Record<string, unknown>
    const response = await fetch(`${pdp?.httpUrl}/api/check/resources`, { method: 'POST', body: JSON.stringify(request) })
    const theirs = (await response.json()) as Record<string, unknown>
    expect(theirs).toMatchObject({ code: 3, message: expect.stringContaining('unknown field "colour"') as unknown })
    expect(ours).toMatchObject({ code: 3, reason: 'unknown_field', message: 'principal: unknown field "colour"' })
  })

  it('reads auxData tokens as a PDP with JWT verification disabled does', async () => {
    const part = (v: unknown): string => Buffer.from(JSON.stringify(v)).toString('base64url')
    const token = (claims: unknown): string => `${part({ alg: 'HS256', typ: 'JWT' })}.${part(claims)}.${part('unverified')}`
    const leave = { principal: JOHN, resources: [{ actions: ['defer'], resource: LEAVE_REQUEST }] }
    const requests = [
      { ...leave, auxData: { jwt: { token: token({ aud: 'cerbos-jwt-tests', customArray: ['A'] }) } } },
      { ...leave, auxData: { jwt: { token: token({ aud: ['other'], customArray: ['A'] }) } } },
      { ...leave, auxData: { jwt: { token: token({ aud: ['cerbos-jwt-tests'], exp: 1000 }) } } },
    ]
    const run = await cli(['check', '--policies', STORE, '--globals', '{"environment":"test"}'], requests.map((r) => JSON.stringify(r)).join('\n'))
    const ours = lines(run.stdout) as Record<string, unknown>[]
    expect((ours[0] as { results: { actions: unknown }[] }).results[0]?.actions).toEqual({ defer: 'EFFECT_ALLOW' })
    for (const [i, request] of requests.entries()) {
      const response = await fetch(`${pdp?.httpUrl}/api/check/resources`, { method: 'POST', body: JSON.stringify(request) })
      const theirs = (await response.json()) as Record<string, unknown>
      if ('code' in theirs) {
        expect(ours[i], `request ${i}`).toMatchObject({ code: theirs['code'], message: theirs['message'], reason: 'invalid_aux_data' })
      } else {
        delete theirs['cerbosCallId']
        expect(ours[i], `request ${i}`).toEqual(theirs)
      }
    }
  })

  it('streams thousands of lines, one answer per line in order', async () => {
    const count = 5000
    const input = Array.from({ length: count }, (_, i) => JSON.stringify({ ...REQUESTS[1], requestId: `q${i}` })).join('\n')
    const run = await cli(['check', '--policies', STORE], `${input}\n`)
    const out = lines(run.stdout) as { requestId: string }[]
    expect(out).toHaveLength(count)
    expect(out.every((r, i) => r.requestId === `q${i}`)).toBe(true)
  })

  it('rejects bad options with usage and exit code 2', async () => {
    for (const args of [['check'], ['check', '--policies', STORE, '--globals', '[1]'], ['check', '--policies', STORE, '--schema-enforcement', 'loud'], ['check', '--nope'], ['frobnicate'], []]) {
      const run = await cli(args)
      expect(run.code, args.join(' ')).toBe(2)
      expect(run.stderr).toContain('Usage: meshguard')
    }
  })
})

describe('meshguard compile and digest', () => {
  const dirs = tempPolicyDirs('meshguard-cli-')
  afterAll(() => dirs.removeAll())
  const POLICY = `apiVersion: api.cerbos.dev/v1
resourcePolicy:
  version: default
  resource: doc
  rules:
    - actions: [read]
      effect: EFFECT_ALLOW
      roles: [user]
`

  it('compiles the sample policies and runs their test suites', async () => {
    const run = await cli(['compile', EXAMPLES])
    expect(run.stderr).toBe('')
    expect(run.code).toBe(0)
    expect(run.stdout).toMatch(/^FILE\s+SUITE\s+TEST\s+PASSED\s+FAILED\s+ERRORED\s+SKIPPED/)
    expect(run.stdout).toMatch(/PASSED: \d+ suite\(s\)/)
  })

  it('prints every compile error as file:line:col and exits 1', async () => {
    const dir = await dirs.create({
      'bad.yaml': `${POLICY}      derivedRoles: [ghost]\n`,
      'worse.yaml': 'apiVersion: api.cerbos.dev/v1\nresourcePolicy:\n  version: default\n  resource: x\n  rules:\n    - actions: [a]\n      effect: EFFECT_ALLOW\n      roles: [r]\n      condition: { match: { expr: "1 +" } }\n',
    })
    const run = await cli(['compile', dir])
    expect(run.code).toBe(1)
    expect(run.stderr).toMatch(new RegExp(`${join(dir, 'bad.yaml').replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:\\d+:\\d+: `))
    expect(run.stderr).toMatch(/worse\.yaml:9:\d+: /)
    expect(run.stderr).toContain('2 compile error(s)')
  })

  it('exits 1 when a policy test fails, and prints what failed', async () => {
    const dir = await dirs.create({
      'doc.yaml': POLICY,
      'doc_test.yaml': `name: DocTests
principals: { ann: { id: ann, roles: [user] } }
resources: { d1: { kind: doc, id: d1 } }
tests:
  - name: users write docs
    input: { principals: [ann], resources: [d1], actions: [read, write] }
    expected: [{ principal: ann, resource: d1, actions: { read: EFFECT_ALLOW, write: EFFECT_ALLOW } }]
`,
    })
    const run = await cli(['compile', dir])
    expect(run.code).toBe(1)
    expect(run.stdout).toContain('doc_test.yaml > users write docs > ann > d1 > write: expected EFFECT_ALLOW, got EFFECT_DENY')
    expect(run.stdout).toContain('FAILED: 1 suite(s), 2 check(s) (1 passed, 1 failed)')
    const json = await cli(['compile', dir, '--output', 'json'])
    expect((JSON.parse(json.stdout) as { summary: unknown }).summary).toEqual({
      overallResult: 'RESULT_FAILED',
      testsCount: 2,
      resultCounts: [
        { result: 'RESULT_PASSED', count: 1 },
        { result: 'RESULT_FAILED', count: 1 },
      ],
    })
  })

  it('prints the policy-set digest the engine reports', async () => {
    const run = await cli(['digest', STORE])
    expect(run.code).toBe(0)
    const engine = await EmbeddedEngine.fromDirectory(STORE)
    expect(run.stdout).toBe(`${engine.policyDigest}\n`)
    expect(run.stdout).toMatch(/^[0-9a-f]{64}\n$/)
  })

  it('fails with file:line for a policy directory that does not compile', async () => {
    const dir = await dirs.create({ 'p.yaml': 'apiVersion: api.cerbos.dev/v1\nresourcePolicy: { version: default }\n' })
    const run = await cli(['digest', dir])
    expect(run.code).toBe(1)
    expect(run.stderr).toMatch(/^p\.yaml:\d+/m)
  })
})

describe('meshguard keys and token (development helpers)', () => {
  const dirs = tempPolicyDirs('meshguard-keys-')
  let dir: string
  beforeAll(async () => {
    dir = await dirs.create()
  })
  afterAll(() => dirs.removeAll())

  it('makes a key pair whose JWKS verifies the tokens it mints', async () => {
    const keys = await cli(['keys', '--out', dir, '--kid', 'dev-1'])
    expect(keys.code).toBe(0)
    expect(keys.stdout).not.toContain('PRIVATE KEY')
    const jwks = JSON.parse(await readFile(join(dir, 'jwks.json'), 'utf8')) as { keys: (JsonWebKey & { kid: string; alg: string })[] }
    expect(jwks.keys[0]).toMatchObject({ kid: 'dev-1', alg: 'EdDSA', kty: 'OKP', crv: 'Ed25519' })
    expect(jwks.keys[0]).not.toHaveProperty('d')
    expect((await stat(join(dir, 'dev-1.key.pem'))).mode & 0o077).toBe(0)

    const minted = await cli(['token', '--key', join(dir, 'dev-1.key.pem'), '--kid', 'dev-1', '--id', 'spiffe://example/ns/a/sa/gateway', '--aud', 'review-service', '--claims', '{"roles":["gateway"]}'])
    expect(minted.code).toBe(0)
    const [header, payload, signature] = minted.stdout.trim().split('.') as [string, string, string]
    const decode = (part: string): Record<string, unknown> => JSON.parse(Buffer.from(part, 'base64url').toString('utf8')) as Record<string, unknown>
    expect(decode(header)).toEqual({ alg: 'EdDSA', kid: 'dev-1', typ: 'workload+jwt' })
    expect(decode(payload)).toMatchObject({ iss: 'spiffe://example/ns/a/sa/gateway', sub: 'spiffe://example/ns/a/sa/gateway', aud: 'review-service', roles: ['gateway'] })
    const jwk = jwks.keys[0]
    if (jwk === undefined) throw new Error('jwks.json has no key')
    const publicKey = createPublicKey({ key: jwk, format: 'jwk' })
    expect(verify(null, Buffer.from(`${header}.${payload}`), publicKey, Buffer.from(signature, 'base64url'))).toBe(true)
  })

  it('refuses missing options and unreadable keys', async () => {
    expect((await cli(['keys'])).code).toBe(2)
    expect((await cli(['token', '--kid', 'k', '--id', 'a', '--aud', 'b'])).code).toBe(2)
    const bad = await cli(['token', '--key', join(dir, 'missing.pem'), '--kid', 'k', '--id', 'a', '--aud', 'b'])
    expect(bad.code).toBe(1)
    expect(bad.stderr).toContain('ERR_AUTHZ_INVALID_CONFIG')
  })
})
