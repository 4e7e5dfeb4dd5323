import { callerContext, ConfigError, createGuard, PlanUnsupportedError, type Guard, type GuardGrant } from '@meshguard/core'
import express, { type Request, type RequestHandler, type Response } from 'express'
import type { Server } from 'node:http'
import { request } from 'undici'
import { afterAll, beforeAll, describe, expect, expectTypeOf, it } from 'vitest'
import { createGuardFixture, type GuardFixture } from '../../../test/adapters/guard-fixture.js'
import { closeServer, urlOf } from '../../../test/adapters/drivers.js'
import { authenticate, authorize, authorizeList, type ExpressRouteAuthorization } from '../src/index.js'

let fixture: GuardFixture
let server: Server | undefined
let url: string

const answer = (req: Request, res: Response): void => {
  res.json({
    workload: req.meshguard?.caller.principal.id ?? null,
    decision: req.meshguard?.decision?.action ?? null,
    inContext: callerContext.current() === req.meshguard?.caller,
  })
}

/** A guard whose pipeline itself rejects: adapters must still fail closed. */
function brokenGuard(guard: Guard): Guard {
  const fail = (): Promise<never> => Promise.reject(new Error('guard bug'))
  const failNow = (): never => {
    throw new Error('guard bug')
  }
  return { ...guard, authorize: fail, authenticate: fail, authorizeNow: failNow, authenticateNow: fail }
}

beforeAll(async () => {
  fixture = await createGuardFixture()
  const app = express()
  const predicateApp = express.Router()
  predicateApp.use(authenticate(fixture.guard, { public: (req) => req.path.startsWith('/public'), actor: 'forbidden' }))
  predicateApp.get('/public/x', answer)
  predicateApp.get('/private', answer)
  app.use('/p', predicateApp)
  app.use(authenticate(fixture.guard, { public: ['/health', '/open/ping'] }))
  app.get('/health', answer)
  app.get('/me', answer)
  app.get('/reviews/:id', authorize(fixture.guard, { resource: 'review', action: 'read' }), answer)
  const open = express.Router()
  open.get('/ping', answer)
  open.get('/broken', authorize(brokenGuard(fixture.guard), { resource: 'review', action: 'read' }), answer)
  app.use('/open', open)
  server = await new Promise<Server>((resolve) => {
    const s: Server = app.listen(0, '127.0.0.1', () => resolve(s))
  })
  url = urlOf(server)
})

afterAll(async () => {
  if (server) await closeServer(server)
  await fixture.audit.close()
})

const get = async (path: string, headers: Record<string, string> = {}) => {
  const res = await request(`${url}${path}`, { headers })
  return { status: res.statusCode, headers: res.headers, body: (await res.body.json()) as Record<string, unknown> }
}

describe('@meshguard/express app-level authenticate', () => {
  it('lets listed public paths through without credentials', async () => {
    expect(await get('/health')).toMatchObject({ status: 200, body: { workload: null } })
  })

  it('refuses every other request without a verified caller', async () => {
    const res = await get('/me')
    expect(res.status).toBe(401)
    expect(res.headers['content-type']).toBe('application/problem+json')
    expect(res.body['reason']).toBe('token_missing')
  })

  it('attaches the caller (no decision) and runs the handler in the caller context', async () => {
    const res = await get('/me', await fixture.headers())
    expect(res.body).toEqual({ workload: 'spiffe://example.org/ns/default/sa/employee-service', decision: null, inContext: true })
  })

  it('chains with a per-route authorize that adds the decision', async () => {
    const res = await get('/reviews/r-eng', await fixture.headers('hana'))
    expect(res.body).toMatchObject({ decision: 'read', inContext: true })
  })

  it('accepts a predicate and an actor requirement', async () => {
    expect((await get('/p/public/x')).status).toBe(200)
    expect((await get('/p/private', await fixture.headers('alice'))).body['reason']).toBe('actor_forbidden')
    expect((await get('/p/private', await fixture.headers())).status).toBe(200)
  })
})

describe('@meshguard/express route settings', () => {
  it('are checked when the route is declared: a bad one throws at start-up, not per request', () => {
    expect(() => authorize(fixture.guard, { resource: 'review', action: 'read', actor: 'sometimes' as never })).toThrow(ConfigError)
    expect(() => authorize(fixture.guard, { resource: '', action: 'read' })).toThrow(/authorize\(\)\.resource/)
    expect(() => authorize(fixture.guard, { resource: 'review', action: 'read', actors: 'required' } as never)).toThrow(/authorize\(\)\.actors/)
    expect(() => authenticate(fixture.guard, { actor: 'always' as never })).toThrow(ConfigError)
  })

  it('checks list routes when declared, and refuses an engine that cannot plan at start-up', () => {
    expect(() => authorizeList(fixture.guard, { resource: 'review', action: 'read', actor: 'sometimes' as never })).toThrow(/authorizeList\(\)\.actor/)
    expect(() => authorizeList(fixture.guard, { resource: 'review', action: '' })).toThrow(/authorizeList\(\)\.action/)
    const remote = createGuard({
      engine: { kind: 'remote', checkResources: () => Promise.reject(new Error('unused')) },
      identity: { verify: () => Promise.reject(new Error('unused')) },
      service: 'review-service',
    })
    expect(() => authorizeList(remote, { resource: 'review', action: 'read' })).toThrow(PlanUnsupportedError)
  })
})

describe('@meshguard/express fail closed', () => {
  it('answers 500 problem+json when the guard itself fails', async () => {
    const res = await get('/open/broken', await fixture.headers('alice'))
    expect(res.status).toBe(500)
    expect(res.body).toMatchObject({ code: 'ERR_AUTHZ_INTERNAL', reason: 'internal_error' })
    expect(JSON.stringify(res.body)).not.toContain('guard bug')
  })
})

describe('@meshguard/express types', () => {
  it('types req.meshguard and the middleware', () => {
    expectTypeOf<Request['meshguard']>().toEqualTypeOf<GuardGrant | undefined>()
    expectTypeOf(authorize).returns.toEqualTypeOf<RequestHandler>()
    expectTypeOf(authenticate).returns.toEqualTypeOf<RequestHandler>()
    expectTypeOf<ExpressRouteAuthorization['actor']>().toEqualTypeOf<'required' | 'forbidden' | 'optional' | undefined>()
    const route: ExpressRouteAuthorization = { resource: (req) => ({ kind: 'review', id: String(req.params['id']) }), action: (req) => req.method.toLowerCase() }
    expectTypeOf(route.resource).not.toBeString()
    // @ts-expect-error an actor requirement outside the three known ones is rejected
    const bad: ExpressRouteAuthorization = { resource: 'review', action: 'read', actor: 'sometimes' }
    expectTypeOf(bad).toEqualTypeOf<ExpressRouteAuthorization>()
  })
})
