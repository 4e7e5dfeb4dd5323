/**
 * List routes in the pipeline (`guard.planNow`): identity as for checks, a plan for the verified
 * principal, one audit record and one span per plan, 403 on an always-denied plan, and failing closed
 * when the engine cannot plan or answers nonsense.
 */
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base'
import { describe, expect, it } from 'vitest'
import {
  ConfigError,
  createAuditLog,
  createGuard,
  createTelemetry,
  EmbeddedEngine,
  functionSink,
  IdentityMissingError,
  PlanUnsupportedError,
  type AuditRecord,
  type DecisionEngine,
  type PlanResourcesResponse,
} from '../../src/index.js'
import type { IdentityVerifierLike, RequestView, VerifiedCallerLike } from '../../src/adapter.js'

const POLICY = `
apiVersion: api.cerbos.dev/v1
resourcePolicy:
  version: default
  resource: review
  rules:
    - actions: [read]
      effect: EFFECT_ALLOW
      roles: [manager]
      condition:
        match:
          expr: request.resource.attr.department == request.principal.attr.department
    - actions: [read]
      effect: EFFECT_ALLOW
      roles: [hr]
`

/** Callers by bearer token: the token names the role. */
const identity: IdentityVerifierLike<VerifiedCallerLike> = {
  async verify(headers) {
    const auth = headers['authorization']
    if (typeof auth !== 'string') throw new IdentityMissingError('no workload token', { tokenKind: 'workload' })
    const role = auth.replace(/^Bearer /, '')
    return { principal: { id: `svc-${role}`, roles: [role], attr: { department: 'eng' } } }
  },
}

const view = (role?: string): RequestView => ({ method: 'GET', route: '/reviews', headers: role ? { authorization: `Bearer ${role}` } : {}, params: {}, request: {} })

async function setup(engine?: DecisionEngine) {
  const records: AuditRecord[] = []
  const audit = createAuditLog({ sinks: [functionSink((r) => void records.push(r))] })
  const exporter = new InMemorySpanExporter()
  const tracerProvider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] })
  const real = EmbeddedEngine.fromSources([{ file: 'review.yaml', text: POLICY }])
  const guard = createGuard({ engine: engine ?? real, identity, service: 'review-service', audit, telemetry: createTelemetry({ tracerProvider }) })
  return { guard, records, audit, exporter }
}

const route = { resource: 'review', action: 'read' }
const rows = [
  { id: 'a', attr: { department: 'eng' } },
  { id: 'b', attr: { department: 'sales' } },
]

describe('list routes', () => {
  it('hands a conditional plan to the handler, with helpers, and reports once', async () => {
    const { guard, records, audit, exporter } = await setup()
    const outcome = await guard.plan(view('manager'), route)
    expect(outcome.ok).toBe(true)
    if (!outcome.ok) return
    expect(outcome.decision).toBeNull()
    expect(outcome.plan?.kind).toBe('KIND_CONDITIONAL')
    expect(outcome.plan?.keep(rows).map((r) => r.id)).toEqual(['a'])
    expect(outcome.plan?.allows({ attr: { department: 'sales' } })).toBe(false)
    expect(outcome.plan?.response.filter).toBe(outcome.plan?.filter)
    await audit.flush()
    expect(records).toEqual([expect.objectContaining({ callId: outcome.plan?.id, outcome: 'allowed', planKind: 'KIND_CONDITIONAL', action: 'read' })])
    const spans = exporter.getFinishedSpans()
    expect(spans).toHaveLength(1)
    expect(spans[0]?.attributes['authz.plan.kind']).toBe('KIND_CONDITIONAL')
  })

  it('keeps everything on an always-allowed plan', async () => {
    const { guard } = await setup()
    const outcome = await guard.plan(view('hr'), route)
    expect(outcome.ok && outcome.plan?.keep(rows).length).toBe(2)
  })

  it('refuses an always-denied plan with 403 denied, audited as denied', async () => {
    const { guard, records, audit } = await setup()
    const outcome = await guard.plan(view('intern'), route)
    expect(outcome.ok).toBe(false)
    if (outcome.ok) return
    expect([outcome.status, outcome.problem.reason]).toEqual([403, 'denied'])
    await audit.flush()
    expect(records).toEqual([expect.objectContaining({ outcome: 'denied', planKind: 'KIND_ALWAYS_DENIED', effect: 'EFFECT_DENY' })])
  })

  it('answers an empty plan to the roles in emptyForRoles', async () => {
    const { guard } = await setup()
    const outcome = await guard.plan(view('intern'), { ...route, emptyForRoles: ['intern'] })
    expect(outcome.ok && outcome.plan?.kind).toBe('KIND_ALWAYS_DENIED')
    expect(outcome.ok && outcome.plan?.keep(rows)).toEqual([])
  })

  it('verifies the caller first (401 without a token, one auth_failure record)', async () => {
    const { guard, records, audit } = await setup()
    const outcome = await guard.plan(view(), route)
    expect(!outcome.ok && [outcome.status, outcome.problem.reason]).toEqual([401, 'token_missing'])
    await audit.flush()
    expect(records.map((r) => r.kind)).toEqual(['auth_failure'])
  })

  it('fails closed when the engine cannot plan: at registration, and per request', async () => {
    const remote: DecisionEngine = { kind: 'remote', checkResources: () => Promise.reject(new Error('unused')) }
    const { guard } = await setup(remote)
    expect(() => guard.compileListRoute(route)).toThrow(PlanUnsupportedError)
    const outcome = await guard.plan(view('hr'), route)
    expect(!outcome.ok && [outcome.status, outcome.error.reason]).toEqual([500, 'plan_unsupported'])
  })

  it('fails closed on a plan without a known kind', async () => {
    const odd: DecisionEngine = {
      kind: 'remote',
      checkResources: () => Promise.reject(new Error('unused')),
      planResources: async () => ({ filter: { kind: 'KIND_UNSPECIFIED' } }) as unknown as PlanResourcesResponse,
    }
    const { guard } = await setup(odd)
    const outcome = await guard.plan(view('hr'), route)
    expect(!outcome.ok && [outcome.status, outcome.problem.reason]).toEqual([500, 'engine_response_invalid'])
  })

  it('checks list settings when the route is registered', async () => {
    const { guard } = await setup()
    expect(() => guard.compileListRoute({ resource: 'review', action: 'read', actors: 'required' } as never)).toThrow(ConfigError)
    expect(() => guard.compileListRoute({ resource: (() => ({})) as never, action: 'read' })).toThrow(/resource/)
    expect(() => guard.compileListRoute({ ...route, emptyForRoles: 'employee' as never })).toThrow(/emptyForRoles/)
  })
})
