/**
 * Route coverage, the same on every adapter: in refusing mode (Express `refuseUnguardedRoutes`,
 * Fastify and Nest `unconfigured: 'refuse'`) a route without settings answers 401 to bad
 * credentials and 403 `route_unguarded` (audited) to good ones, while guarded and public routes
 * answer as usual; each adapter's testing helper lists the same route table and fails on an
 * unguarded route.
 */
import type { AuditRecord, Guard } from '@meshguard/core'
import { assertRoutesGuarded, type RouteRequirement } from '@meshguard/core/adapter'
import { authorize, publicRoute, refuseUnguardedRoutes } from '@meshguard/express'
import * as expressTesting from '@meshguard/express/testing'
import meshguard from '@meshguard/fastify'
import * as fastifyTesting from '@meshguard/fastify/testing'
import * as nestTesting from '@meshguard/nestjs/testing'
import express, { type Express } from 'express'
import Fastify, { type FastifyInstance } from 'fastify'
import type { Server } from 'node:http'
import { request } from 'undici'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { express4 } from '../../packages/express/test/support/express4-app.js'
import { startNestCoverageApp } from '../../packages/nestjs/test/support/coverage-app.js'
import type { IdentityFixture } from '../support/identity.js'
import { SERVICE } from './contract.js'
import { closeServer, urlOf, type RunningApp } from './drivers.js'
import { createGuardFixture, type GuardFixture } from './guard-fixture.js'

const ok = (_req: unknown, res: { json(body: unknown): void }): void => res.json({ ok: true })

function expressApp(guard: Guard, framework: typeof express, refuse: boolean): Express {
  const app = framework()
  app.get('/health', publicRoute(), ok)
  app.get('/reviews/:id', authorize(guard, { resource: 'review', action: 'read', actor: 'required' }), ok)
  app.get('/forgotten', ok)
  if (refuse) refuseUnguardedRoutes(app, guard)
  return app
}

async function listen(app: Express): Promise<RunningApp> {
  const server = await new Promise<Server>((resolve) => {
    const s: Server = app.listen(0, '127.0.0.1', () => resolve(s))
  })
  return { url: urlOf(server), close: () => closeServer(server) }
}

async function fastifyApp(guard: Guard, unconfigured: 'refuse' | undefined): Promise<FastifyInstance> {
  const app = Fastify({ logger: false })
  await app.register(meshguard, { guard, ...(unconfigured ? { unconfigured } : {}) })
  app.get('/health', { config: { meshguard: { public: true } } }, async () => ({ ok: true }))
  app.get('/reviews/:id', { config: { meshguard: { resource: 'review', action: 'read', actor: 'required' } } }, async () => ({ ok: true }))
  app.get('/forgotten', async () => ({ ok: true }))
  await app.ready()
  return app
}

let fixture: GuardFixture
let ids: IdentityFixture
const running: RunningApp[] = []
const apps = new Map<string, RunningApp>()
const tables = new Map<string, RouteRequirement[]>()

beforeAll(async () => {
  fixture = await createGuardFixture()
  ids = fixture.ids
  const { guard } = fixture
  for (const [name, framework] of [['express', express], ['express 4', express4]] as const) {
    const app = expressApp(guard, framework, true)
    tables.set(name, expressTesting.listRoutes(app))
    apps.set(name, await listen(app))
  }
  const fastify = await fastifyApp(guard, 'refuse')
  tables.set('fastify', fastifyTesting.listRoutes(fastify))
  await fastify.listen({ port: 0, host: '127.0.0.1' })
  const address = fastify.server.address()
  apps.set('fastify', { url: `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`, close: () => fastify.close() })
  const nest = await startNestCoverageApp(guard, 'refuse')
  tables.set('nest', nestTesting.listRoutes(nest.app))
  apps.set('nest', nest)
  running.push(...apps.values())
})

afterAll(async () => {
  await Promise.all(running.map((app) => app.close()))
  await fixture.audit.close()
})

async function get(app: RunningApp, path: string, actor?: 'alice'): Promise<{ status: number; body: Record<string, unknown> }> {
  const headers = actor === undefined ? {} : await ids.headers({ from: 'employee-service', to: SERVICE, actor })
  const response = await request(`${app.url}${path}`, { headers })
  return { status: response.statusCode, body: (await response.body.json()) as Record<string, unknown> }
}

describe('refusing unguarded routes', () => {
  it('answers a route without settings 401 without credentials and 403 route_unguarded with them, audited', async () => {
    for (const [name, app] of apps) {
      expect((await get(app, '/forgotten')).status, name).toBe(401)
      const refused = await get(app, '/forgotten', 'alice')
      expect([name, refused.status, refused.body['reason'], refused.body['code']]).toEqual([name, 403, 'route_unguarded', 'ERR_AUTHZ_DENIED'])
      await fixture.audit.flush()
      const record = fixture.records.find((r: AuditRecord) => r.callId === refused.body['decisionId'])
      expect(record, name).toMatchObject({ outcome: 'denied', reason: 'route_unguarded', actorId: 'alice' })
      // Guarded and public routes are untouched: the policy decides (a kind-only resource has no
      // department, so the seed policy denies), and the public route needs nothing.
      const decided = await get(app, '/reviews/r-eng', 'alice')
      expect([name, decided.status, decided.body['reason']]).toEqual([name, 403, 'denied'])
      expect((await get(app, '/health')).status, name).toBe(200)
    }
  })

  it('lists the same route table on every adapter, and it passes the guarded check', () => {
    const expected = [
      { method: 'GET', path: '/health', guard: 'public' },
      { method: 'GET', path: '/reviews/:id', guard: 'authorize', resource: 'review', action: 'read', actor: 'required' },
      { method: 'GET', path: '/forgotten', guard: 'refused' },
    ]
    const sorted = (routes: readonly RouteRequirement[]): RouteRequirement[] => [...routes].sort((a, b) => (a.path < b.path ? -1 : 1))
    for (const [name, table] of tables) {
      expect(sorted(table), name).toEqual(sorted(expected as RouteRequirement[]))
      expect(() => assertRoutesGuarded(table), name).not.toThrow()
    }
    expect(expressTesting.formatRouteTable(tables.get('express')!)).toBe(
      [
        'METHOD  PATH          GUARD      RESOURCE  ACTION  ACTOR',
        'GET     /forgotten    refused',
        'GET     /health       public',
        'GET     /reviews/:id  authorize  review    read    required',
        '',
      ].join('\n'),
    )
  })

  it('fails the guarded check on an app that does not refuse, naming the route', async () => {
    const app = expressApp(fixture.guard, express, false)
    expect(() => expressTesting.assertRoutesGuarded(app)).toThrow(/GET\s+\/forgotten\s+unguarded/)
    const router = express.Router()
    router.get('/inner', ok)
    app.use('/api', router)
    expect(expressTesting.listRoutes(app).find((r) => r.path === '/api/inner')).toEqual({ method: 'GET', path: '/api/inner', guard: 'unguarded' })
    const fastify = await fastifyApp(fixture.guard, undefined)
    expect(() => fastifyTesting.assertRoutesGuarded(fastify)).toThrow(/GET\s+\/forgotten\s+authenticated/)
    await fastify.close()
    const nest = await startNestCoverageApp(fixture.guard, undefined)
    try {
      expect(() => nestTesting.assertRoutesGuarded(nest.app)).toThrow(/GET\s+\/forgotten\s+authenticated/)
    } finally {
      await nest.close()
    }
  })
})
