import { cpSync, mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { createIdentityFixture, type IdentityFixture } from '../../../../test/support/identity.js'
import {
  callerContext,
  ConfigError,
  createAuditLog,
  createTelemetry,
  functionSink,
  type AuditRecord,
  selfSignedTokenSource,
  createMeshguard,
  DEVELOPMENT_ACTOR_AUDIENCE,
  DEVELOPMENT_ACTOR_ISSUER,
  EmbeddedEngine,
  PolicyError,
  type Telemetry,
  type TrustBundleOptions,
} from '../../src/index.js'
import type { RequestView } from '../../src/adapter.js'

const POLICIES = fileURLToPath(new URL('../../../../examples/policies', import.meta.url))

let ids: IdentityFixture
let brokenDir: string

beforeAll(async () => {
  ids = await createIdentityFixture()
  brokenDir = mkdtempSync(join(tmpdir(), 'meshguard-bad-policies-'))
  writeFileSync(join(brokenDir, 'bad.yaml'), 'apiVersion: api.cerbos.dev/v1\nresourcePolicy:\n  resource: 7\n')
})

afterAll(() => {
  if (brokenDir) rmSync(brokenDir, { recursive: true, force: true })
})

const view = (headers: Record<string, string>, id: string): RequestView<{ id: string }> => ({
  method: 'GET',
  path: `/reviews/${id}`,
  route: '/reviews/:id',
  headers,
  params: { id },
  request: { id },
})

describe('createMeshguard', () => {
  it('wires the embedded engine, the identity verifier and the guard from one config', async () => {
    const meshguard = await createMeshguard({ service: 'review-service', policies: POLICIES, identity: ids.verifierOptions('review-service') })
    expect(meshguard.engine).toBeInstanceOf(EmbeddedEngine)
    expect(meshguard.workload).toBeUndefined()
    const route = { resource: (req: { id: string }) => ({ kind: 'review', id: req.id, attr: { department: 'engineering' } }), action: 'read', actor: 'required' as const }
    const alice = await ids.headers({ from: 'employee-service', to: 'review-service', actor: 'alice' })
    const outcome = await meshguard.guard.authorize(view(alice, 'r1'), route)
    if (!outcome.ok) throw new Error(`expected an allow, got ${outcome.problem.reason}`)
    expect(outcome.decision?.policy).toBe('resource.review.vdefault')
    // The default context is core's callerContext, so outbound calls in the handler find the actor.
    expect(meshguard.guard.run(outcome.caller, () => callerContext.current()?.actor?.id)).toBe('alice')
    const ed = await ids.headers({ from: 'employee-service', to: 'review-service', actor: 'ed' })
    const denied = await meshguard.guard.authorize(view(ed, 'r1'), route)
    expect(denied.ok ? 200 : denied.status).toBe(403)
  })

  it('takes a ready engine and verifier, and builds the outbound identity when configured', async () => {
    const engine = await EmbeddedEngine.fromDirectory(POLICIES)
    const self = ids.services['review-service']!
    const base = await createMeshguard({ service: 'review-service', policies: engine, identity: ids.verifierOptions('review-service') })
    const meshguard = await createMeshguard({
      service: 'review-service',
      policies: engine,
      identity: base.verifier,
      workload: { id: self.id, source: selfSignedTokenSource({ key: self.privateKey, kid: self.kid }) },
    })
    expect(meshguard.engine).toBe(engine)
    expect(meshguard.verifier).toBe(base.verifier)
    const outbound = await meshguard.workload?.headersFor({ audience: ids.services['payments']!.id })
    expect(outbound?.authorization).toMatch(/^Bearer ey/)
  })

  it('stops on invalid policies with file and line, and on bad options with the option name', async () => {
    await expect(createMeshguard({ service: 's', policies: brokenDir, identity: ids.verifierOptions('review-service') })).rejects.toBeInstanceOf(PolicyError)
    await expect(createMeshguard({ service: 's', policies: 42 as never, identity: ids.verifierOptions('review-service') })).rejects.toThrow(/^policies:/)
    await expect(createMeshguard({ service: '', policies: POLICIES, identity: ids.verifierOptions('review-service') })).rejects.toBeInstanceOf(ConfigError)
    await expect(createMeshguard({ service: 's', policies: POLICIES, identity: null as never })).rejects.toThrow(/^identity:/)
  })
})

/** Real telemetry over an in-memory span exporter, with the metric calls spied on. */
function spiedTelemetry() {
  const exporter = new InMemorySpanExporter()
  const telemetry = createTelemetry({ tracerProvider: new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] }) })
  const unsubscribe = vi.fn()
  const spies = {
    recordJwksRefresh: vi.fn<Telemetry['recordJwksRefresh']>(),
    recordReload: vi.fn<Telemetry['recordReload']>(),
    observePolicyDigest: vi.fn<Telemetry['observePolicyDigest']>((source) => {
      telemetry.observePolicyDigest(source)
      return unsubscribe
    }),
  }
  const spied: Telemetry = { ...telemetry, ...spies }
  return { telemetry: spied, spies, exporter, unsubscribe }
}

const reviewRoute = { resource: (req: { id: string }) => ({ kind: 'review', id: req.id, attr: { department: 'engineering' } }), action: 'read', actor: 'required' as const }

describe('createMeshguard with telemetry and watch', () => {
  let dir: string
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'meshguard-watch-'))
    cpSync(POLICIES, dir, { recursive: true })
  })
  afterAll(() => rmSync(dir, { recursive: true, force: true }))

  it('puts token verification events on the authorization span', async () => {
    const { telemetry, exporter } = spiedTelemetry()
    const meshguard = await createMeshguard({ service: 'review-service', policies: POLICIES, identity: ids.verifierOptions('review-service'), telemetry })
    const alice = await ids.headers({ from: 'employee-service', to: 'review-service', actor: 'alice' })
    expect((await meshguard.guard.authorize(view(alice, 'r1'), reviewRoute)).ok).toBe(true)
    const [allowed] = exporter.getFinishedSpans()
    expect(allowed?.events.map((e) => [e.name, e.attributes?.['authz.token.kind'], e.attributes?.['authz.token.issuer']])).toEqual([
      ['authz.token.verified', 'workload', ids.services['employee-service']!.id],
      ['authz.token.verified', 'actor', 'https://idp.example.org'],
    ])
    exporter.reset()
    const forged = { ...alice, authorization: `${alice['authorization']!.slice(0, -4)}AAAA` }
    expect((await meshguard.guard.authorize(view(forged, 'r1'), reviewRoute)).ok).toBe(false)
    const noActor = { authorization: alice['authorization']! }
    expect((await meshguard.guard.authorize(view(noActor, 'r1'), reviewRoute)).ok).toBe(false)
    // An expired actor token: the reason alone (token_expired) does not say which token it was.
    const expiredActor = await ids.mintActorToken('alice', { now: Math.floor(Date.now() / 1000) - 7200, lifetime: 900 })
    const workload = await ids.mintWorkloadToken('employee-service', { audience: 'review-service', actorToken: expiredActor })
    const stale = await meshguard.guard.authorize(view({ authorization: `Bearer ${workload}`, 'x-meshguard-actor': expiredActor }, 'r1'), reviewRoute)
    expect(stale.ok ? undefined : [stale.problem.reason, stale.problem.tokenKind]).toEqual(['token_expired', 'actor'])
    expect(exporter.getFinishedSpans().map((span) => span.events.map((e) => [e.name, e.attributes?.['authz.token.kind'], e.attributes?.['authz.reason']]))).toEqual([
      [['authz.token.rejected', 'workload', 'signature_invalid']],
      [['authz.token.rejected', 'actor', 'actor_required']],
      [['authz.token.rejected', 'actor', 'token_expired']],
    ])
    await meshguard.close()
  })

  it('counts JWKS refreshes of the trust bundle it builds, keeping the caller\'s own onEvent', async () => {
    const { telemetry, spies } = spiedTelemetry()
    const jwksFile = join(dir, '..', `${dir.split('/').pop()}-idp.json`)
    writeFileSync(jwksFile, JSON.stringify({ keys: [ids.userIssuer.publicJwk] }))
    let now = Date.now()
    const own = vi.fn()
    const trust = { ...ids.trust(), actors: [{ issuer: 'https://idp.example.org', keys: { jwksFile }, audiences: ['meshguard'] }], onEvent: own, clock: () => now }
    try {
      const meshguard = await createMeshguard({ service: 'review-service', policies: POLICIES, identity: { audience: ids.services['review-service']!.id, trust }, telemetry })
      writeFileSync(jwksFile, JSON.stringify({ keys: [ids.userIssuer.publicJwk] }, null, 1))
      utimesSync(jwksFile, new Date(), new Date(Date.now() + 5000))
      now += 2000
      const alice = await ids.headers({ from: 'employee-service', to: 'review-service', actor: 'alice' })
      expect((await meshguard.guard.authorize(view(alice, 'r1'), reviewRoute)).ok).toBe(true)
      expect(spies.recordJwksRefresh).toHaveBeenCalledWith('success', jwksFile)
      expect(own).toHaveBeenCalledWith(expect.objectContaining({ type: 'jwks_file_reloaded' }))
      await meshguard.close()
    } finally {
      rmSync(jwksFile, { force: true })
    }
  })

  it('watches the policy directory with watch: true, reports the digest, and stops on close()', async () => {
    const { telemetry, spies, unsubscribe } = spiedTelemetry()
    const meshguard = await createMeshguard({ service: 'review-service', policies: dir, identity: ids.verifierOptions('review-service'), telemetry, watch: { poll: { intervalMs: 60_000 } } })
    expect(meshguard.watcher?.mode).toBe('poll')
    expect(spies.observePolicyDigest).toHaveBeenCalledWith(meshguard.engine)
    const before = meshguard.engine.policyDigest
    const file = join(dir, 'resources', 'review.yaml')
    writeFileSync(file, `${readFileSync(file, 'utf8')}\n# changed\n`)
    const event = await meshguard.watcher!.reload()
    expect(event).toMatchObject({ ok: true, changed: true, previousDigest: before })
    expect(meshguard.engine.policyDigest).not.toBe(before)
    expect(spies.recordReload.mock.calls.map((call) => call[0])).toEqual(['success'])
    await meshguard.close()
    expect(unsubscribe).toHaveBeenCalledOnce()
  })

  it('refuses watch without a policy directory', async () => {
    const engine = await EmbeddedEngine.fromDirectory(POLICIES)
    await expect(createMeshguard({ service: 's', policies: engine, identity: ids.verifierOptions('review-service'), watch: true })).rejects.toThrow(/^watch:/)
    await expect(createMeshguard({ service: 's', policies: POLICIES, identity: ids.verifierOptions('review-service'), watch: 'yes' as never })).rejects.toThrow(/^watch:/)
  })
})

describe('audit records of cached callers', () => {
  it('share the per-caller parts between requests with the same tokens, and never mix callers', async () => {
    const records: AuditRecord[] = []
    const audit = createAuditLog({ sinks: [functionSink((record) => void records.push(record))] })
    const meshguard = await createMeshguard({ service: 'review-service', policies: POLICIES, identity: ids.verifierOptions('review-service'), audit })
    const alice = await ids.headers({ from: 'employee-service', to: 'review-service', actor: 'alice' })
    const ed = await ids.headers({ from: 'employee-service', to: 'review-service', actor: 'ed' })
    const gateway = await ids.headers({ from: 'gateway', to: 'review-service', actor: 'alice' })
    for (const headers of [alice, alice, ed, gateway, alice]) await meshguard.guard.authorize(view(headers, 'r1'), reviewRoute)
    await audit.flush()
    expect(records.map((r) => [r.workloadId, r.actorId, r.delegation?.map((hop) => hop.id)])).toEqual([
      [ids.services['employee-service']!.id, 'alice', [ids.services['employee-service']!.id, 'alice']],
      [ids.services['employee-service']!.id, 'alice', [ids.services['employee-service']!.id, 'alice']],
      [ids.services['employee-service']!.id, 'ed', [ids.services['employee-service']!.id, 'ed']],
      [ids.services['gateway']!.id, 'alice', [ids.services['gateway']!.id, 'alice']],
      [ids.services['employee-service']!.id, 'alice', [ids.services['employee-service']!.id, 'alice']],
    ])
    expect(new Set(records.map((r) => r.tokenDigests?.workload)).size).toBe(3)
    expect(records[0]?.tokenDigests?.workload).toMatch(/^sha256:[\w-]{43}$/)
    // The shared parts are frozen, so no sink can change another record through them.
    expect(Object.isFrozen(records[0]?.delegation)).toBe(true)
    expect(Object.isFrozen(records[0]?.delegation?.[0])).toBe(true)
    expect(Object.isFrozen(records[0]?.tokenDigests)).toBe(true)
    await audit.close()
  })
})

describe('createMeshguard without an audit log', () => {
  /** The process warnings emitted while `run` runs (emitWarning delivers them on a later tick). */
  async function warningsDuring(run: () => Promise<unknown>): Promise<Array<Error & { code?: string }>> {
    const seen: Array<Error & { code?: string }> = []
    const listener = (warning: Error & { code?: string }): void => void seen.push(warning)
    process.on('warning', listener)
    try {
      await run()
      await new Promise((resolve) => setImmediate(resolve))
    } finally {
      process.off('warning', listener)
    }
    return seen.filter((w) => w.code === 'MESHGUARD_NO_AUDIT_LOG')
  }

  it('says so once at start-up, naming the service and how to add one', async () => {
    const config = { service: 'quiet-audit-service', policies: POLICIES, identity: ids.verifierOptions('review-service') }
    const first = await warningsDuring(() => createMeshguard(config))
    expect(first).toHaveLength(1)
    expect(first[0]?.message).toContain("service 'quiet-audit-service' has no audit log")
    expect(first[0]?.message).toContain('audit: false')
    expect(await warningsDuring(() => createMeshguard(config))).toHaveLength(0)
  })

  it('stays quiet with audit: false, and with an audit log', async () => {
    const identity = ids.verifierOptions('review-service')
    expect(await warningsDuring(() => createMeshguard({ service: 'deliberately-unaudited', policies: POLICIES, identity, audit: false }))).toHaveLength(0)
    const audit = createAuditLog({ sinks: [functionSink(() => {})] })
    expect(await warningsDuring(() => createMeshguard({ service: 'audited-service', policies: POLICIES, identity, audit }))).toHaveLength(0)
    await audit.close()
  })

  it('with audit: false the guard still decides', async () => {
    const meshguard = await createMeshguard({ service: 'review-service', policies: POLICIES, identity: ids.verifierOptions('review-service'), audit: false })
    const alice = await ids.headers({ from: 'employee-service', to: 'review-service', actor: 'alice' })
    const outcome = await meshguard.guard.authorize(view(alice, 'r1'), { resource: (req: { id: string }) => ({ kind: 'review', id: req.id, attr: { department: 'engineering' } }), action: 'read', actor: 'required' })
    expect(outcome.ok).toBe(true)
  })
})

describe('createMeshguard and the development issuer', () => {
  const developmentTrust = (): ReturnType<IdentityFixture['verifierOptions']> => {
    const options = ids.verifierOptions('review-service')
    const trust = options.trust as TrustBundleOptions
    const actors = [...(trust.actors ?? []), { issuer: DEVELOPMENT_ACTOR_ISSUER, keys: { jwks: { keys: [] } }, audiences: [DEVELOPMENT_ACTOR_AUDIENCE] }]
    return { ...options, trust: { ...trust, actors } }
  }

  async function withNodeEnv<T>(value: string | undefined, run: () => Promise<T>): Promise<T> {
    const before = process.env['NODE_ENV']
    if (value === undefined) delete process.env['NODE_ENV']
    else process.env['NODE_ENV'] = value
    try {
      return await run()
    } finally {
      if (before === undefined) delete process.env['NODE_ENV']
      else process.env['NODE_ENV'] = before
    }
  }

  it('refuses to start under NODE_ENV=production when the trust lists the development issuer', async () => {
    const start = withNodeEnv('production', () => createMeshguard({ service: 'review-service', policies: POLICIES, identity: developmentTrust(), audit: false }))
    await expect(start).rejects.toBeInstanceOf(ConfigError)
    await expect(start).rejects.toThrow(/identity\.trust\.actors\[1\].*development issuer while NODE_ENV=production/)
  })

  it('starts with it in development, and starts in production without it', async () => {
    await expect(withNodeEnv('development', () => createMeshguard({ service: 'review-service', policies: POLICIES, identity: developmentTrust(), audit: false }))).resolves.toBeDefined()
    await expect(withNodeEnv('production', () => createMeshguard({ service: 'review-service', policies: POLICIES, identity: ids.verifierOptions('review-service'), audit: false }))).resolves.toBeDefined()
  })
})
