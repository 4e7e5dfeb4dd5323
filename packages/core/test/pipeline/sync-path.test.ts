import { describe, expect, it } from 'vitest'
import {
  createGuard,
  IdentityError,
  type CheckResourcesRequest,
  type CheckResourcesResponse,
  type DecisionEngine,
} from '../../src/index.js'
import type { IdentityVerifierLike, RequestView, VerifiedCallerLike } from '../../src/adapter.js'

// The synchronous forms of the guard: a warm request (identity answers now, a sync resolver, an
// engine with checkResourcesSync) gets its outcome without a promise; anything asynchronous on the
// way turns the answer into a promise of the same outcome; nothing ever throws.

// Principal types roles as a mutable array and Object.freeze returns a readonly one: the array is frozen in place.
const roles = ['service']
Object.freeze(roles)
const caller: VerifiedCallerLike = Object.freeze({ principal: Object.freeze({ id: 'svc', roles, attr: Object.freeze({}) }) })

function response(request: CheckResourcesRequest, allow: boolean): CheckResourcesResponse {
  const [check] = request.resources
  const action = check?.actions[0] ?? 'read'
  return {
    requestId: request.requestId ?? '',
    results: [
      {
        resource: { id: check?.resource.id ?? '', kind: check?.resource.kind ?? '', policyVersion: 'default', scope: '' },
        actions: { [action]: allow ? 'EFFECT_ALLOW' : 'EFFECT_DENY' },
        validationErrors: [],
        meta: { actions: { [action]: { matchedPolicy: 'resource.review.vdefault', matchedScope: '' } }, effectiveDerivedRoles: [] },
        outputs: [],
      },
    ],
  }
}

function syncEngine(allow = true): DecisionEngine & { checkResourcesSync(r: CheckResourcesRequest): CheckResourcesResponse } {
  return {
    kind: 'embedded',
    checkResourcesSync: (request) => response(request, allow),
    checkResources: async (request) => response(request, allow),
  }
}

const nowIdentity = (answer: () => VerifiedCallerLike | Promise<VerifiedCallerLike>): IdentityVerifierLike<VerifiedCallerLike> => ({
  verify: async () => answer(),
  verifyNow: () => answer(),
})

const view: RequestView<{ id: string }> = { method: 'GET', route: '/reviews/:id', headers: {}, params: { id: 'r1' }, request: { id: 'r1' } }
const route = { resource: (req: { id: string }) => ({ kind: 'review', id: req.id }), action: 'read' }

describe('guard.authorizeNow', () => {
  it('answers a warm request synchronously, with the same outcome authorize resolves to', async () => {
    const guard = createGuard({ engine: syncEngine(), identity: nowIdentity(() => caller), service: 'review-service' })
    const now = guard.authorizeNow(view, route)
    expect(now).not.toBeInstanceOf(Promise)
    const later = await guard.authorize(view, route)
    expect(now).toMatchObject({ ok: true, caller, decision: { allowed: true, action: 'read', resource: { kind: 'review', id: 'r1' } } })
    expect(later).toMatchObject({ ok: true, caller, decision: { allowed: true, action: 'read' } })
  })

  it('answers a denial synchronously as a 403 failure', () => {
    const guard = createGuard({ engine: syncEngine(false), identity: nowIdentity(() => caller), service: 'review-service' })
    const outcome = guard.authorizeNow(view, route)
    expect(outcome).not.toBeInstanceOf(Promise)
    expect(outcome).toMatchObject({ ok: false, status: 403, problem: { reason: 'denied' } })
  })

  it('turns into a promise when identity, the resource loader or the engine is asynchronous', async () => {
    const asyncIdentity = createGuard({ engine: syncEngine(), identity: nowIdentity(async () => caller), service: 's' })
    const loader = createGuard({ engine: syncEngine(), identity: nowIdentity(() => caller), service: 's' })
    const asyncEngine = createGuard({
      engine: { kind: 'remote', checkResources: async (r) => response(r, true) },
      identity: nowIdentity(() => caller),
      service: 's',
    })
    const loaded = { resource: async (req: { id: string }) => ({ kind: 'review', id: req.id }), action: 'read' }
    for (const pending of [asyncIdentity.authorizeNow(view, route), loader.authorizeNow(view, loaded), asyncEngine.authorizeNow(view, route)]) {
      expect(pending).toBeInstanceOf(Promise)
      expect(await pending).toMatchObject({ ok: true, decision: { allowed: true } })
    }
  })

  it('never throws: a synchronous identity failure is a 401 outcome, a verifier bug a 500', () => {
    const refused = createGuard({
      engine: syncEngine(),
      identity: nowIdentity(() => {
        throw new IdentityError('signature_invalid', 'bad signature')
      }),
      service: 's',
    })
    expect(refused.authorizeNow(view, route)).toMatchObject({ ok: false, status: 401, problem: { reason: 'signature_invalid' } })
    const buggy = createGuard({
      engine: syncEngine(),
      identity: nowIdentity(() => {
        throw new TypeError('bug')
      }),
      service: 's',
    })
    expect(buggy.authenticateNow(view)).toMatchObject({ ok: false, status: 500 })
  })

  it('falls back to verify() for verifiers without verifyNow', async () => {
    const guard = createGuard({ engine: syncEngine(), identity: { verify: async () => caller }, service: 's' })
    const pending = guard.authorizeNow(view, route)
    expect(pending).toBeInstanceOf(Promise)
    expect(await pending).toMatchObject({ ok: true })
  })
})
