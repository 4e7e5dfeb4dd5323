import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base'
import { INVALID_SPAN_CONTEXT, ROOT_CONTEXT, trace } from '@opentelemetry/api'
import { describe, expect, it, vi } from 'vitest'
import {
  ConfigError,
  createAuditLog,
  createTelemetry,
  functionSink,
  type AuditRecord,
  type AuditSink,
  IdentityError,
  IdentityMissingError,
  UnavailableError,
  createGuard,
  type CheckResourcesRequest,
  type CheckResourcesResponse,
  type DecisionEngine,
  type GuardOptions,
} from '../../src/index.js'
import type { HeaderView, IdentityVerifierLike, RequestView, VerifiedCallerLike } from '../../src/adapter.js'

// Pipeline unit tests use small in-file doubles for identity and engine: they exercise how the pipeline
// maps each kind of failure, which the real modules cannot be made to produce on demand.
// The cross-adapter contract suite in test/adapters runs the real identity verifier and engine.

interface Caller extends VerifiedCallerLike {
  readonly token: string
}

const GOOD = 'good-token-value'

function singleHeader(headers: HeaderView, name: string): string | undefined {
  const value = headers[name]
  if (value !== undefined && typeof value !== 'string') {
    if (value.length > 1) throw new IdentityError('duplicate_header', `more than one ${name} header`)
    return value[0]
  }
  return value
}

const identity: IdentityVerifierLike<Caller> = {
  async verify(headers, { actor }) {
    const auth = singleHeader(headers, 'authorization')
    if (auth === undefined) throw new IdentityMissingError('no workload token', { tokenKind: 'workload' })
    if (auth === 'Bearer down') throw new UnavailableError('jwks_unavailable', 'JWKS endpoint unreachable')
    if (auth === 'Bearer crash') throw new TypeError('bug in verifier')
    if (auth !== `Bearer ${GOOD}`) throw new IdentityError('signature_invalid', 'signature does not verify')
    const user = singleHeader(headers, 'x-actor-token')
    if (actor === 'required' && user === undefined) throw new IdentityMissingError('actor required', { reason: 'actor_required' })
    if (actor === 'forbidden' && user !== undefined) throw new IdentityError('actor_forbidden', 'actor not allowed here')
    return {
      token: GOOD,
      principal: {
        id: 'spiffe://example.org/ns/hr/sa/gateway',
        roles: ['service'],
        attr: user === undefined ? {} : { act: { user: { id: user, roles: ['employee'], attr: { department: 'hr' } } } },
      },
    }
  },
}

/** Allows `read` when the resource's department matches the actor's; records requests. */
function engineDouble(overrides: Partial<DecisionEngine> = {}): DecisionEngine & { requests: CheckResourcesRequest[] } {
  const requests: CheckResourcesRequest[] = []
  return {
    kind: 'embedded',
    requests,
    async checkResources(request): Promise<CheckResourcesResponse> {
      requests.push(request)
      const [check] = request.resources
      const act = request.principal.attr?.['act'] as { user?: { attr?: { department?: string } } } | undefined
      const allowed = check?.resource.attr?.['department'] === act?.user?.attr?.department
      return {
        requestId: request.requestId ?? '',
        results: request.resources.map(({ resource, actions }) => ({
          resource: { id: resource.id, kind: resource.kind, policyVersion: 'default', scope: '' },
          actions: Object.fromEntries(actions.map((a) => [a, allowed && a === 'read' ? 'EFFECT_ALLOW' : 'EFFECT_DENY'])),
          validationErrors: [],
          meta: { actions: Object.fromEntries(actions.map((a) => [a, { matchedPolicy: 'resource.review.vdefault', matchedScope: '' }])), effectiveDerivedRoles: [] },
          outputs: [],
        })),
      }
    },
    ...overrides,
  }
}

function view(headers: HeaderView, extra: Partial<RequestView<{ params: Record<string, string> }>> = {}): RequestView<{ params: Record<string, string> }> {
  const params = extra.params ?? { id: 'r1' }
  return { method: 'GET', path: '/reviews/r1', route: '/reviews/:id', headers, params, query: {}, request: { params: params as Record<string, string> }, ...extra }
}

const authed = (user?: string): HeaderView => ({ authorization: `Bearer ${GOOD}`, ...(user ? { 'x-actor-token': user } : {}) })

function setup(options: Partial<GuardOptions<Caller>> = {}, sinks?: AuditSink[]) {
  const records: AuditRecord[] = []
  const exporter = new InMemorySpanExporter()
  const tracerProvider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] })
  const audit = createAuditLog({ sinks: sinks ?? [functionSink((r) => void records.push(r))], failClosed: sinks !== undefined })
  const engine = engineDouble()
  const guard = createGuard<Caller>({
    engine,
    identity,
    service: 'review-service',
    audit,
    telemetry: createTelemetry({ tracerProvider }),
    ...options,
  })
  /** Audit writes happen in the background; wait for them. */
  const events = async (): Promise<AuditRecord[]> => {
    await audit.flush()
    return records
  }
  return { guard, events, spans: () => exporter.getFinishedSpans(), engine, audit }
}

const hrReview = { resource: (req: { params: Record<string, string> }) => ({ kind: 'review', id: req.params['id'] ?? '', attr: { department: 'hr' } }), action: 'read' }

describe('createGuard: allow and deny', () => {
  it('allows, attaches the decision, and reports one audit record and one span', async () => {
    const { guard, events, spans, engine } = setup()
    const outcome = await guard.authorize(view(authed('alice')), { ...hrReview, actor: 'required' })
    expect(outcome.ok).toBe(true)
    if (!outcome.ok) return
    expect(outcome.caller.principal.id).toBe('spiffe://example.org/ns/hr/sa/gateway')
    expect(outcome.decision).toMatchObject({ allowed: true, effect: 'EFFECT_ALLOW', action: 'read', resource: { kind: 'review', id: 'r1' }, policy: 'resource.review.vdefault' })
    expect(engine.requests[0]?.requestId).toBe(outcome.decision?.id)
    const records = await events()
    expect(records).toHaveLength(1)
    expect(records[0]).toMatchObject({
      kind: 'decision', outcome: 'allowed', effect: 'EFFECT_ALLOW', service: 'review-service', callId: outcome.decision?.id,
      workloadId: 'spiffe://example.org/ns/hr/sa/gateway', actorId: 'alice', resource: { kind: 'review', id: 'r1' }, action: 'read',
      policy: 'resource.review.vdefault', engine: 'embedded', metadata: { method: 'GET', route: '/reviews/:id' },
    })
    expect(records[0]?.checkResources?.outputs?.results[0]?.actions).toEqual({ read: 'EFFECT_ALLOW' })
    expect(spans()).toHaveLength(1)
    expect(spans()[0]?.name).toBe('authorize review')
    expect(spans()[0]?.attributes).toMatchObject({ 'authz.decision': 'allowed', 'authz.action': 'read', 'authz.resource.kind': 'review' })
  })

  it('denies with 403 and a problem body carrying the decision id of the audit record', async () => {
    const { guard, events } = setup()
    const outcome = await guard.authorize(view(authed('alice')), { ...hrReview, action: 'delete' })
    expect(outcome.ok).toBe(false)
    if (outcome.ok) return
    expect(outcome.status).toBe(403)
    expect(outcome.problem).toEqual({
      type: 'urn:meshguard:problem:denied',
      title: 'Forbidden',
      status: 403,
      detail: 'The policy does not allow this action on this resource.',
      code: 'ERR_AUTHZ_DENIED',
      reason: 'denied',
      decisionId: (await events())[0]?.callId,
    })
    expect(outcome.headers['content-type']).toBe('application/problem+json')
    expect(outcome.headers['www-authenticate']).toBeUndefined()
    expect((await events())[0]).toMatchObject({ kind: 'decision', outcome: 'denied', effect: 'EFFECT_DENY', policy: 'resource.review.vdefault', reason: 'denied' })
  })

  it('uses the id route parameter for kind-only resources', async () => {
    const { guard, engine } = setup()
    await guard.authorize(view(authed(), { params: { id: 'x9' } }), { resource: 'review', action: 'read' })
    expect(engine.requests[0]?.resources[0]?.resource).toEqual({ kind: 'review', id: 'x9', attr: {} })
    await guard.authorize(view(authed(), { params: {} }), { resource: 'review', action: 'read' })
    expect(engine.requests[1]?.resources[0]?.resource.id).toBe('_')
  })

  it('resolves the action through a function of the request', async () => {
    const { guard, engine } = setup()
    await guard.authorize(view(authed('a')), { ...hrReview, action: (req) => (req.params['id'] === 'r1' ? 'read' : 'list') })
    expect(engine.requests[0]?.resources[0]?.actions).toEqual(['read'])
  })
})

describe('createGuard: identity failures', () => {
  it('answers 401 without an error code when credentials are missing', async () => {
    const { guard, events, spans } = setup()
    const outcome = await guard.authorize(view({}), hrReview)
    if (outcome.ok) throw new Error('expected a refusal')
    expect(outcome.status).toBe(401)
    expect(outcome.problem.reason).toBe('token_missing')
    expect(outcome.headers['www-authenticate']).toBe('Bearer realm="review-service"')
    // The verifier's token kind reaches the problem body and the audit record.
    expect(outcome.problem.tokenKind).toBe('workload')
    expect((await events())[0]).toMatchObject({ kind: 'auth_failure', outcome: 'unauthenticated', reason: 'token_missing', errorCode: 'ERR_AUTHZ_IDENTITY_MISSING', tokenKind: 'workload' })
    expect(spans()[0]?.attributes).toMatchObject({ 'authz.decision': 'unauthenticated', 'authz.reason': 'token_missing' })
  })

  it('answers 401 invalid_token with the reason and never echoes the token', async () => {
    const { guard } = setup()
    const outcome = await guard.authorize(view({ authorization: 'Bearer forged.token.value' }), hrReview)
    if (outcome.ok) throw new Error('expected a refusal')
    expect(outcome.status).toBe(401)
    expect(outcome.problem.reason).toBe('signature_invalid')
    expect(outcome.headers['www-authenticate']).toBe('Bearer realm="review-service", error="invalid_token"')
    expect(JSON.stringify(outcome.problem)).not.toContain('forged')
  })

  it('passes duplicate headers through to identity', async () => {
    const { guard } = setup()
    const outcome = await guard.authorize(view({ authorization: [`Bearer ${GOOD}`, `Bearer ${GOOD}`] }), hrReview)
    expect(outcome.ok ? 'ok' : outcome.problem.reason).toBe('duplicate_header')
  })

  it('applies the route actor requirement, then the guard default', async () => {
    const { guard } = setup({ defaultActor: 'required' })
    const required = await guard.authorize(view(authed()), hrReview)
    expect(required.ok ? 'ok' : required.problem.reason).toBe('actor_required')
    const forbidden = await guard.authorize(view(authed('bob')), { ...hrReview, actor: 'forbidden' })
    expect(forbidden.ok ? 'ok' : forbidden.problem.reason).toBe('actor_forbidden')
  })

  it('answers 503 when identity cannot reach its key source', async () => {
    const { guard } = setup()
    const outcome = await guard.authorize(view({ authorization: 'Bearer down' }), hrReview)
    if (outcome.ok) throw new Error('expected a refusal')
    expect([outcome.status, outcome.problem.code, outcome.problem.reason]).toEqual([503, 'ERR_AUTHZ_UNAVAILABLE', 'jwks_unavailable'])
  })

  it('fails closed with 500 when the verifier itself breaks', async () => {
    const { guard } = setup()
    const outcome = await guard.authorize(view({ authorization: 'Bearer crash' }), hrReview)
    if (outcome.ok) throw new Error('expected a refusal')
    expect([outcome.status, outcome.problem.reason]).toEqual([500, 'internal_error'])
    expect(JSON.stringify(outcome.problem)).not.toContain('bug in verifier')
  })

  it('does not run resource loaders for unauthenticated callers', async () => {
    const { guard } = setup()
    const loader = vi.fn(async () => ({ kind: 'review', id: 'r1' }))
    await guard.authorize(view({}), { resource: loader, action: 'read' })
    expect(loader).not.toHaveBeenCalled()
  })
})

describe('createGuard: user code and engine failures fail closed', () => {
  it.each([
    ['a throwing resolver', () => { throw new Error('db exploded') }, 'resource_resolution_failed'],
    ['a rejecting loader', async () => Promise.reject(new Error('db down')), 'resource_resolution_failed'],
    ['a loader returning nothing', async () => undefined as never, 'resource_invalid'],
    ['a resource without an id', () => ({ kind: 'review' }) as never, 'resource_invalid'],
  ])('%s → 500', async (_name, resource, reason) => {
    const { guard, engine } = setup()
    const outcome = await guard.authorize(view(authed('a')), { resource, action: 'read' })
    if (outcome.ok) throw new Error('expected a refusal')
    expect([outcome.status, outcome.problem.code, outcome.problem.reason]).toEqual([500, 'ERR_AUTHZ_RESOURCE_RESOLUTION', reason])
    expect(engine.requests).toHaveLength(0)
    expect(JSON.stringify(outcome.problem)).not.toMatch(/exploded|db down/)
  })

  it('keeps a meshguard error thrown by a loader (e.g. the service refusing)', async () => {
    const { guard } = setup()
    const outcome = await guard.authorize(view(authed()), { resource: () => { throw new UnavailableError('db_unavailable', 'db down') }, action: 'read' })
    expect(outcome.ok ? 0 : outcome.status).toBe(503)
  })

  it('answers 500 when the engine throws something unexpected', async () => {
    const { guard } = createGuardWith({ checkResources: async () => { throw new RangeError('engine bug') } })
    const outcome = await guard.authorize(view(authed('a')), hrReview)
    expect(outcome.ok ? 0 : [outcome.status, outcome.problem.reason]).toEqual([500, 'internal_error'])
  })

  it('answers 503 when the engine reports it is unavailable', async () => {
    const { guard } = createGuardWith({ checkResources: async () => { throw new UnavailableError('pdp_unavailable', 'PDP down') } })
    const outcome = await guard.authorize(view(authed('a')), hrReview)
    expect(outcome.ok ? 0 : [outcome.status, outcome.problem.reason]).toEqual([503, 'pdp_unavailable'])
  })

  it('never allows on an engine answer without an effect for the action', async () => {
    const { guard } = createGuardWith({ checkResources: async () => ({ requestId: '', results: [] }) })
    const outcome = await guard.authorize(view(authed('a')), hrReview)
    expect(outcome.ok ? 0 : [outcome.status, outcome.problem.reason]).toEqual([500, 'engine_response_invalid'])
  })

  it('prefers a synchronous checkResourcesSync and fails closed when it throws', async () => {
    const asyncCheck = vi.fn()
    const engine = { ...engineDouble(), checkResources: asyncCheck, checkResourcesSync: () => { throw new RangeError('sync engine bug') } }
    const { guard } = setup({ engine })
    const outcome = await guard.authorize(view(authed('a')), hrReview)
    expect(outcome.ok ? 0 : [outcome.status, outcome.problem.reason]).toEqual([500, 'internal_error'])
    expect(asyncCheck).not.toHaveBeenCalled()
  })

  function createGuardWith(engine: Partial<DecisionEngine>) {
    return setup({ engine: engineDouble(engine) })
  }
})

describe('createGuard: audit, telemetry and problem customisation', () => {
  it('keeps the decision when a telemetry hook throws, and reports it', async () => {
    const onInternalError = vi.fn()
    const { guard } = setup({
      telemetry: { startAuthorization: () => { throw new Error('exporter bug') } } as never,
      onInternalError,
    })
    const outcome = await guard.authorize(view(authed('a')), hrReview)
    expect(outcome.ok).toBe(true)
    expect(onInternalError).toHaveBeenCalledOnce()
  })

  it('ends a span nobody observes with the decision alone, and any other span with every detail', async () => {
    const ends: unknown[][] = [[], [], []]
    const spanOf = (observed: boolean | undefined, into: unknown[]) => ({
      span: trace.wrapSpanContext(INVALID_SPAN_CONTEXT),
      context: ROOT_CONTEXT,
      traceId: undefined,
      tokenVerified: () => {},
      tokenRejected: () => {},
      end: (result: unknown) => into.push(result),
      ...(observed === undefined ? {} : { observed }),
    })
    const spans = [false, true, undefined] as const
    for (const [i, observed] of spans.entries()) {
      const { guard } = setup({ telemetry: { startAuthorization: () => spanOf(observed, ends[i] as unknown[]) } as never })
      expect((await guard.authorize(view(authed('a')), hrReview)).ok).toBe(true)
      expect((await guard.authorize(view({}), hrReview)).ok).toBe(false)
    }
    expect(ends[0]).toEqual([{ decision: 'allowed' }, { decision: 'unauthenticated' }])
    for (const full of [ends[1], ends[2]]) {
      expect(full).toEqual([
        expect.objectContaining<Record<string, unknown>>({ decision: 'allowed', resourceKind: 'review', action: 'read', workloadId: expect.any(String) }),
        expect.objectContaining({ decision: 'unauthenticated', reason: 'token_missing' }),
      ])
    }
  })

  it('keeps the decision when an audit sink fails and the log does not fail closed', async () => {
    const onSinkError = vi.fn()
    const audit = createAuditLog({ sinks: [{ name: 'broken', write: async () => { throw new Error('disk full') } }], onSinkError })
    const { guard } = setup({ audit })
    expect((await guard.authorize(view(authed('a')), hrReview)).ok).toBe(true)
    await audit.flush()
    expect(onSinkError).toHaveBeenCalled()
    expect((await guard.authorize(view(authed('a')), hrReview)).ok).toBe(true)
  })

  it('refuses with 503 once a fail-closed audit log cannot write', async () => {
    const { guard, audit } = setup({}, [{ name: 'broken', write: async () => { throw new Error('disk full') } }])
    expect((await guard.authorize(view(authed('a')), hrReview)).ok).toBe(true)
    await audit.flush()
    const outcome = await guard.authorize(view(authed('a')), hrReview)
    expect(outcome.ok ? 0 : [outcome.status, outcome.problem.code, outcome.problem.reason]).toEqual([503, 'ERR_AUTHZ_AUDIT_FAILED', 'audit_unavailable'])
  })

  it('refuses with 503 once a fail-closed sink write has run maxUnconfirmedMs, and serves again when it completes', async () => {
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval', 'performance'] })
    try {
      let finish: (() => void) | undefined
      const hanging: AuditSink = { name: 'hanging', write: () => new Promise<void>((resolve) => (finish = resolve)) }
      const audit = createAuditLog({ sinks: [hanging], failClosed: true, maxUnconfirmedMs: 300 })
      const { guard } = setup({ audit })
      expect((await guard.authorize(view(authed('a')), hrReview)).ok).toBe(true)
      await new Promise((resolve) => setImmediate(resolve))
      // The write is running but still within the window: served.
      expect((await guard.authorize(view(authed('a')), hrReview)).ok).toBe(true)
      vi.advanceTimersByTime(300)
      const refused = await guard.authorize(view(authed('a')), hrReview)
      expect(refused.ok ? 0 : [refused.status, refused.problem.reason]).toEqual([503, 'audit_unavailable'])
      finish?.()
      await new Promise((resolve) => setImmediate(resolve))
      expect((await guard.authorize(view(authed('a')), hrReview)).ok).toBe(true)
    } finally {
      vi.useRealTimers()
    }
  })

  it('lets the service reshape the problem body but never its status', async () => {
    const { guard } = setup({
      problem: { typeBase: 'https://errors.example.org/', customize: (p, err) => ({ ...p, status: 200, hint: err.reason }) },
    })
    const outcome = await guard.authorize(view({}), hrReview)
    if (outcome.ok) throw new Error('expected a refusal')
    expect(outcome.status).toBe(401)
    expect(outcome.problem).toMatchObject({ type: 'https://errors.example.org/identity-missing', status: 401, hint: 'token_missing' })
  })

  it('falls back to the default body when the customizer throws', async () => {
    const onInternalError = vi.fn()
    const { guard } = setup({ problem: { customize: () => { throw new Error('oops') } }, onInternalError })
    const outcome = await guard.authorize(view({}), hrReview)
    expect(outcome.ok ? 0 : outcome.problem.type).toBe('urn:meshguard:problem:identity-missing')
    expect(onInternalError).toHaveBeenCalledOnce()
  })
})

describe('createGuard: authenticate, run, fail', () => {
  it('authenticates without asking the engine', async () => {
    const { guard, engine, events } = setup()
    const outcome = await guard.authenticate(view(authed('a')), { actor: 'required' })
    expect(outcome.ok && outcome.decision).toBeNull()
    expect(engine.requests).toHaveLength(0)
    expect(await events()).toHaveLength(0)
    const refused = await guard.authenticate(view(authed()), { actor: 'required' })
    expect(refused.ok ? 0 : refused.problem.reason).toBe('actor_required')
    expect((await events())[0]).toMatchObject({ kind: 'auth_failure', reason: 'actor_required' })
  })

  it('runs the handler through the configured caller context', async () => {
    let current: Caller | undefined
    const { guard } = setup({ context: { run: (caller, fn) => { current = caller; try { return fn() } finally { current = undefined } } } })
    const outcome = await guard.authorize(view(authed('a')), hrReview)
    if (!outcome.ok) throw new Error('expected success')
    const seen = guard.run(outcome.caller, () => current)
    expect(seen).toBe(outcome.caller)
  })

  it('turns an adapter-side error into a fail-closed 500', () => {
    const { guard } = setup()
    const failure = guard.fail(new Error('adapter bug'))
    expect([failure.status, failure.problem.code]).toEqual([500, 'ERR_AUTHZ_INTERNAL'])
  })
})

describe('createGuard: configuration', () => {
  it.each([
    ['engine', { engine: {} }],
    ['identity', { identity: {} }],
    ['service', { service: '' }],
    ['defaultActor', { defaultActor: 'sometimes' }],
    ['audit', { audit: {} }],
  ])('rejects a bad %s at construction', (option, bad) => {
    const good = { engine: engineDouble(), identity, service: 'svc' }
    const attempt = () => createGuard({ ...good, ...(bad as object) })
    expect(attempt).toThrow(ConfigError)
    expect(attempt).toThrow(new RegExp(`^${option}:`))
  })
})
