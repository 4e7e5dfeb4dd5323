import { describe, expect, it, vi } from 'vitest'
import {
  ConfigError,
  IdentityError,
  IdentityMissingError,
  UnavailableError,
  createGuard,
  type AuthorizationEvent,
  type CheckResourcesRequest,
  type CheckResourcesResponse,
  type DecisionEngine,
  type GuardOptions,
  type HeaderView,
  type IdentityVerifierLike,
  type RequestView,
  type VerifiedCallerLike,
} from '../../src/index.js'

// Pipeline unit tests use small in-file doubles for identity and engine: they exercise how the pipeline
// maps each kind of failure, which the real modules cannot be made to produce on demand.
// The cross-adapter contract suite in test/adapters runs the real identity verifier and engine.

interface Caller extends VerifiedCallerLike {
  readonly token: string
}

const GOOD = 'good-token-value'

function singleHeader(headers: HeaderView, name: string): string | undefined {
  const value = headers[name]
  if (Array.isArray(value)) {
    if (value.length > 1) throw new IdentityError('duplicate_header', `more than one ${name} header`)
    return value[0]
  }
  return value
}

const identity: IdentityVerifierLike<Caller> = {
  async verify(headers, { actor }) {
    const auth = singleHeader(headers, 'authorization')
    if (auth === undefined) throw new IdentityMissingError('no workload token')
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
        results: (request.resources ?? []).map(({ resource, actions }) => ({
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

function setup(options: Partial<GuardOptions<Caller>> = {}) {
  const events: AuthorizationEvent[] = []
  const spans: AuthorizationEvent[] = []
  const engine = engineDouble()
  const guard = createGuard<Caller>({
    engine,
    identity,
    service: 'review-service',
    audit: { record: (e) => void events.push(e) },
    telemetry: { record: (e) => void spans.push(e) },
    ...options,
  })
  return { guard, events, spans, engine }
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
    expect(events).toHaveLength(1)
    expect(spans).toHaveLength(1)
    expect(events[0]).toMatchObject({ kind: 'authorization', result: 'allow', status: 200, service: 'review-service', route: '/reviews/:id', actorId: 'alice', decisionId: outcome.decision?.id })
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
      decisionId: events[0]?.decisionId,
    })
    expect(outcome.headers['content-type']).toBe('application/problem+json')
    expect(outcome.headers['www-authenticate']).toBeUndefined()
    expect(events[0]).toMatchObject({ result: 'deny', status: 403, policy: 'resource.review.vdefault', code: 'ERR_AUTHZ_DENIED' })
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
    const { guard, events } = setup()
    const outcome = await guard.authorize(view({}), hrReview)
    if (outcome.ok) throw new Error('expected a refusal')
    expect(outcome.status).toBe(401)
    expect(outcome.problem.reason).toBe('token_missing')
    expect(outcome.headers['www-authenticate']).toBe('Bearer realm="review-service"')
    expect(events[0]).toMatchObject({ kind: 'authorization', result: 'error', status: 401, reason: 'token_missing' })
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

  function createGuardWith(engine: Partial<DecisionEngine>) {
    return setup({ engine: engineDouble(engine) })
  }
})

describe('createGuard: audit, telemetry and problem customisation', () => {
  it('keeps the decision when a sink throws, and reports the sink failure', async () => {
    const onInternalError = vi.fn()
    const { guard } = setup({
      audit: { record: () => { throw new Error('disk full') } },
      telemetry: { record: () => { throw new Error('exporter bug') } },
      onInternalError,
    })
    const outcome = await guard.authorize(view(authed('a')), hrReview)
    expect(outcome.ok).toBe(true)
    expect(onInternalError).toHaveBeenCalledTimes(2)
  })

  it('does not wait for an async sink unless told to fail closed', async () => {
    const onInternalError = vi.fn()
    const { guard } = setup({ audit: { record: () => Promise.reject(new Error('late failure')) }, onInternalError })
    const outcome = await guard.authorize(view(authed('a')), hrReview)
    expect(outcome.ok).toBe(true)
    await vi.waitFor(() => expect(onInternalError).toHaveBeenCalledOnce())
  })

  it.each([
    ['throws', () => { throw new Error('disk full') }],
    ['rejects', () => Promise.reject(new Error('disk full'))],
  ])('refuses with 503 when the audit sink %s and auditFailClosed is set', async (_name, record) => {
    const { guard } = setup({ audit: { record }, auditFailClosed: true })
    const outcome = await guard.authorize(view(authed('a')), hrReview)
    expect(outcome.ok ? 0 : [outcome.status, outcome.problem.reason]).toEqual([503, 'audit_unavailable'])
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
    expect(events[0]).toMatchObject({ kind: 'authentication', result: 'authenticated', status: 200 })
    const refused = await guard.authenticate(view(authed()), { actor: 'required' })
    expect(refused.ok ? 0 : refused.problem.reason).toBe('actor_required')
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
    const attempt = () => createGuard({ ...good, ...(bad as object) } as GuardOptions)
    expect(attempt).toThrow(ConfigError)
    expect(attempt).toThrow(new RegExp(`^${option}:`))
  })
})
