/**
 * The three services of the client e2e test, one per adapter, each on 127.0.0.1 with an OS port:
 * gateway (Express) → employee-service (Fastify) → review-service (NestJS). Every outbound call goes
 * through `createMeshguardFetch`; every inbound request runs in the trace context it arrived with.
 */
import 'reflect-metadata'

import { createServer, type IncomingMessage, type RequestListener, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'

import { Controller, Get, Module, Param, Redirect } from '@nestjs/common'
import { NestFactory } from '@nestjs/core'
import { ExpressAdapter } from '@nestjs/platform-express'
import type { TextMapPropagator } from '@opentelemetry/api'
import {
  callerContext,
  createMeshguard,
  DEFAULT_ACTOR_HEADER,
  EmbeddedEngine,
  type Guard,
  type VerifiedCaller,
} from '@meshguard/core'
import { createMeshguardFetch, type MeshguardFetch } from '@meshguard/client'
import { authorize } from '@meshguard/express'
import { meshguard as meshguardFastify } from '@meshguard/fastify'
import { Authorize, Caller, MeshguardModule, Public } from '@meshguard/nestjs'
import express from 'express'
import Fastify from 'fastify'
import { request } from 'undici'

import type { IdentityFixture } from '../../support/identity.js'
import { DIAGNOSTICS_POLICY, EMPLOYEE_POLICY, GATEWAY_POLICY, REVIEW_POLICY } from './policies.js'
import { withInboundTrace, type TraceLog } from './trace.js'

/** A running service. */
export interface RunningService {
  readonly origin: string
  close(): Promise<void>
}

/** What every service builder needs. */
export interface ServiceDeps {
  ids: IdentityFixture
  propagator: TextMapPropagator
  traces: TraceLog
}

/** A guard over the embedded engine with in-memory policies, verifying tokens minted for `name`. */
export async function guardFor(ids: IdentityFixture, name: string, policies: string[]): Promise<Guard> {
  const engine = EmbeddedEngine.fromSources(policies.map((text, i) => ({ file: `${name}-${i}.yaml`, text })))
  // These test services record nothing on purpose (audit: false keeps the start-up warning out).
  // The fixture's trust as plain options: its verifierOptions type the trust with core's source, whose TrustBundle
  // class the built declarations do not accept (private members); the options are the same.
  const { guard } = await createMeshguard({ service: name, policies: engine, identity: { ...ids.verifierOptions(name), trust: ids.trust() }, audit: false })
  return guard
}

/** The meshguard fetch of service `name`, calling the given origins as the given fixture services. */
export function clientFor(deps: ServiceDeps, name: string, callees: Record<string, string>): MeshguardFetch {
  const destinations = Object.fromEntries(Object.entries(callees).map(([origin, callee]) => [origin, deps.ids.services[callee]!.id]))
  return createMeshguardFetch({ identity: deps.ids.workloadIdentity(name), destinations, propagator: deps.propagator })
}

async function listen(listener: RequestListener): Promise<{ server: Server; origin: string }> {
  const server = createServer(listener)
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return { server, origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}` }
}

const closeServer = (server: Server): Promise<void> =>
  new Promise((resolve, reject) => {
    server.closeAllConnections()
    server.close((err) => (err ? reject(err) : resolve()))
  })

/** Reads a body as JSON, or `null` when it is not JSON. */
async function jsonOf(res: { text(): Promise<string> }): Promise<unknown> {
  const text = await res.text()
  try {
    return JSON.parse(text) as unknown
  } catch {
    return null
  }
}

/** gateway (Express): GET /reviews/:id for a user, calls employee-service. */
export async function startGateway(deps: ServiceDeps, employeeOrigin: string): Promise<RunningService> {
  const guard = await guardFor(deps.ids, 'gateway', [GATEWAY_POLICY])
  const fetch = clientFor(deps, 'gateway', { [employeeOrigin]: 'employee-service' })
  const app = express()
  app.get(
    '/reviews/:id',
    authorize(guard, { resource: (req) => ({ kind: 'storefront', id: String(req.params.id) }), action: 'view', actor: 'required' }),
    async (req, res) => {
      const downstream = await fetch(`${employeeOrigin}/reviews/${String(req.params.id)}`)
      res.status(downstream.status).json({ service: 'gateway', user: req.meshguard?.caller.actor?.id, downstream: await jsonOf(downstream) })
    },
  )
  const { server, origin } = await listen(withInboundTrace('gateway', deps.propagator, deps.traces, app))
  return { origin, close: async () => Promise.all([closeServer(server), fetch.close()]).then(() => undefined) }
}

/**
 * employee-service (Fastify): GET /reviews/:id calls review-service for the user. Diagnostics routes
 * (for the edge only) misuse credentials on purpose, or call an unmapped host or a redirecting route.
 */
export async function startEmployeeService(
  deps: ServiceDeps,
  reviewOrigin: string,
  outsideOrigin: string,
): Promise<RunningService> {
  const guard = await guardFor(deps.ids, 'employee-service', [EMPLOYEE_POLICY, DIAGNOSTICS_POLICY])
  const fetch = clientFor(deps, 'employee-service', { [reviewOrigin]: 'review-service' })
  const identity = deps.ids.workloadIdentity('employee-service')
  const reviewId = deps.ids.services['review-service']!.id
  const diagnostics = { meshguard: { resource: 'diagnostics', action: 'run' } }
  const app = Fastify({ serverFactory: (handler) => createServer(withInboundTrace('employee-service', deps.propagator, deps.traces, handler)) })
  await app.register(meshguardFastify, { guard })

  app.get<{ Params: { id: string } }>(
    '/reviews/:id',
    { config: { meshguard: { resource: 'review_summary', action: 'read', actor: 'required' } } },
    async (req, reply) => {
      const downstream = await fetch(`${reviewOrigin}/reports/${req.params.id}`)
      return reply.code(downstream.status).send({ service: 'employee-service', user: req.meshguard?.caller.actor?.id, downstream: await jsonOf(downstream) })
    },
  )
  // Replays the workload token employee-service received (aud = employee-service) to review-service.
  app.get('/replay', { config: diagnostics }, async (req) => {
    const res = await request(`${reviewOrigin}/reports/1`, {
      headers: { authorization: req.headers.authorization ?? '', [DEFAULT_ACTOR_HEADER]: String(req.headers[DEFAULT_ACTOR_HEADER] ?? '') },
    })
    return { status: res.statusCode, problem: await res.body.json() }
  })
  // A token correctly minted for review-service and bound to the caller's actor, sent beside another user's token.
  app.get<{ Querystring: { otherActor: string } }>('/mismatch', { config: diagnostics }, async (req) => {
    const headers = await identity.headersFor({ audience: reviewId, ...callerContext.outbound() })
    const res = await request(`${reviewOrigin}/reports/1`, { headers: { ...headers, [DEFAULT_ACTOR_HEADER]: req.query.otherActor } })
    return { status: res.statusCode, problem: await res.body.json() }
  })
  app.get('/unmapped', { config: diagnostics }, async () => {
    const res = await fetch(`${outsideOrigin}/from-employee-service`)
    return { status: res.status, body: await res.text() }
  })
  app.get('/redirect', { config: diagnostics }, async () => {
    const res = await fetch(`${reviewOrigin}/redirect-out`)
    return { status: res.status, url: res.url, redirected: res.redirected }
  })

  await app.listen({ port: 0, host: '127.0.0.1' })
  const { port } = app.server.address() as AddressInfo
  return { origin: `http://127.0.0.1:${port}`, close: async () => Promise.all([app.close(), fetch.close()]).then(() => undefined) }
}

/** What review-service answers: what its policy and handler saw of the caller. */
export interface ReportView {
  service: 'review-service'
  reportId: string
  workload: string
  user: unknown
  chain: string[]
  transactionId: string
}

/** review-service (NestJS on Express): GET /reports/:id under the department policy; GET /redirect-out. */
export async function startReviewService(deps: ServiceDeps, outsideOrigin: string): Promise<RunningService> {
  const guard = await guardFor(deps.ids, 'review-service', [REVIEW_POLICY])

  // Decorators applied as functions: the test files are compiled without decorator syntax support.
  class ReportsController {
    read(caller: VerifiedCaller, id: string): ReportView {
      const act = caller.principal.attr?.act as { user?: { id?: unknown } } | undefined
      return {
        service: 'review-service',
        reportId: id,
        workload: caller.workload.id,
        user: act?.user?.id,
        chain: caller.delegation.workloads,
        transactionId: caller.transactionId,
      }
    }
    redirectOut(): void {}
  }
  const proto = ReportsController.prototype
  decorateMethod(proto, 'read', [
    Get('reports/:id'),
    Authorize((req) => ({ kind: 'report', id: String(req.params.id), attr: { department: 'engineering' } }), 'read', { actor: 'required' }),
  ])
  Caller('caller')(proto, 'read', 0)
  Param('id')(proto, 'read', 1)
  decorateMethod(proto, 'redirectOut', [Get('redirect-out'), Public(), Redirect(`${outsideOrigin}/landing`, 307)])
  Controller()(ReportsController)

  class ReviewModule {}
  Module({ imports: [MeshguardModule.forRoot({ guard })], controllers: [ReportsController] })(ReviewModule)

  const expressApp = express()
  // eslint-disable-next-line @typescript-eslint/no-unsafe-class-instance-assignment -- Nest types its options as a class (NestApplicationContextOptions) but takes and reads a plain object
  const app = await NestFactory.create(ReviewModule, new ExpressAdapter(expressApp), { logger: false })
  await app.init()
  const { server, origin } = await listen(withInboundTrace('review-service', deps.propagator, deps.traces, expressApp))
  return { origin, close: async () => Promise.all([closeServer(server), app.close()]).then(() => undefined) }
}

function decorateMethod(proto: object, key: string, decorators: MethodDecorator[]): void {
  const descriptor = Object.getOwnPropertyDescriptor(proto, key)!
  const decorated = Reflect.decorate(decorators, proto, key, descriptor) as PropertyDescriptor | undefined
  Object.defineProperty(proto, key, decorated ?? descriptor)
}

/** A plain server outside the mesh (not in any destination map) that records what it receives. */
export async function startOutside(): Promise<RunningService & { seen: IncomingMessage['headers'][] }> {
  const seen: IncomingMessage['headers'][] = []
  const { server, origin } = await listen((req: IncomingMessage, res: ServerResponse) => {
    seen.push({ ...req.headers })
    req.resume()
    res.writeHead(200, { 'content-type': 'text/plain' }).end('outside')
  })
  return { origin, seen, close: async () => closeServer(server) }
}

