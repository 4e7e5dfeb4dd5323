/** The contract app on Fastify, with @meshguard/fastify. */
import type { Guard } from '@meshguard/core'
import meshguard from '@meshguard/fastify'
import { listRoutes } from '@meshguard/fastify/testing'
import Fastify, { type FastifyRequest } from 'fastify'
import { batchBody, CLAIMED_ROUTE_CLAIMS, handlerBody, listBody, loadReview, reviewFromBody, ROUTES, STEP_UP_CLAIMS } from './contract.js'
import type { RunningApp } from './drivers.js'

const answer = async (request: FastifyRequest): Promise<Record<string, unknown>> => handlerBody(request.meshguard)
const answerList = async (request: FastifyRequest): Promise<Record<string, unknown>> => listBody(request.meshguard)

/** Starts the Fastify contract app on 127.0.0.1 with an OS-chosen port. */
export async function startFastifyApp(guard: Guard): Promise<RunningApp> {
  const app = Fastify({ logger: false })
  await app.register(meshguard, { guard })
  app.get(ROUTES.health, { config: { meshguard: { public: true } } }, answer)
  app.get(ROUTES.review, { config: { meshguard: { resource: (req) => loadReview(req.params as Record<string, unknown>), action: 'read', actor: 'required' } } }, answer)
  app.post(ROUTES.lookup, { config: { meshguard: { resource: (req) => reviewFromBody(req.body), action: 'read', actor: 'required' } } }, answer)
  app.get(ROUTES.me, answer)
  app.get(ROUTES.list, { config: { meshguard: { list: { resource: 'review', action: 'read', actor: 'required' } } } }, answerList)
  app.get(ROUTES.listOrEmpty, { config: { meshguard: { list: { resource: 'review', action: 'read', actor: 'required', emptyForRoles: ['employee-service'] } } } }, answerList)
  app.get(ROUTES.scoped, { config: { meshguard: { resource: (req) => loadReview(req.params as Record<string, unknown>), action: 'read', actor: 'required', scope: 'review.read' } } }, answer)
  app.get(ROUTES.internal, { config: { meshguard: { resource: 'review', action: 'read', actor: 'forbidden' } } }, answer)
  app.get(ROUTES.crash, { config: { meshguard: { resource: 'crash', action: 'read' } } }, answer)
  app.get(ROUTES.offline, { config: { meshguard: { resource: 'offline', action: 'read' } } }, answer)
  app.get(ROUTES.batch, { config: { meshguard: { resource: (req) => loadReview(req.params as Record<string, unknown>), action: 'read', actor: 'required' } } }, (request) => batchBody(request.meshguard))
  const loaded = (req: FastifyRequest) => loadReview(req.params as Record<string, unknown>)
  app.get(ROUTES.claimed, { config: { meshguard: { resource: loaded, action: 'read', actor: 'required', claims: CLAIMED_ROUTE_CLAIMS } } }, answer)
  app.get(ROUTES.stepUp, { config: { meshguard: { resource: loaded, action: 'read', actor: 'required', claims: STEP_UP_CLAIMS } } }, answer)
  const url = await app.listen({ port: 0, host: '127.0.0.1' })
  return { url, close: () => app.close(), routes: () => listRoutes(app) }
}
