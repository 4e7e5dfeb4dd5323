/** The contract app on Express, with @meshguard/express. */
import { authenticate, authorize, authorizeList } from '@meshguard/express'
import { listRoutes } from '@meshguard/express/testing'
import type { Guard } from '@meshguard/core'
import express, { type Request, type Response } from 'express'
import type { Server } from 'node:http'
import { batchBody, CLAIMED_ROUTE_CLAIMS, handlerBody, listBody, loadReview, reviewFromBody, ROUTES, STEP_UP_CLAIMS } from './contract.js'
import { closeServer, urlOf, type RunningApp } from './drivers.js'

const answer = (req: Request, res: Response): void => {
  res.json(handlerBody(req.meshguard))
}

const answerList = (req: Request, res: Response): void => {
  res.json(listBody(req.meshguard))
}

// Express 4 does not catch a rejected handler promise: answer the failure here.
const answerBatch = (req: Request, res: Response): void => {
  batchBody(req.meshguard).then(
    (body) => res.json(body),
    (err: unknown) => res.status(500).json({ error: String(err) }),
  )
}

/**
 * Starts the Express contract app on 127.0.0.1 with an OS-chosen port.
 *
 * @param framework - the `express` export to build with (Express 5 here; Express 4 in its own run).
 */
export async function startExpressApp(guard: Guard, framework: typeof express = express): Promise<RunningApp> {
  const app = framework()
  app.use(framework.json())
  app.get(ROUTES.health, answer)
  // Declared before /reviews/:id would not matter (distinct paths); list routes answer with the plan.
  app.get(ROUTES.list, authorizeList(guard, { resource: 'review', action: 'read', actor: 'required' }), answerList)
  app.get(ROUTES.listOrEmpty, authorizeList(guard, { resource: 'review', action: 'read', actor: 'required', emptyForRoles: ['employee-service'] }), answerList)
  app.get(ROUTES.review, authorize(guard, { resource: (req) => loadReview(req.params), action: 'read', actor: 'required' }), answer)
  app.post(ROUTES.lookup, authorize(guard, { resource: (req) => reviewFromBody(req.body), action: 'read', actor: 'required' }), answer)
  app.get(ROUTES.me, authenticate(guard), answer)
  app.get(ROUTES.scoped, authorize(guard, { resource: (req) => loadReview(req.params), action: 'read', actor: 'required', scope: 'review.read' }), answer)
  app.get(ROUTES.internal, authorize(guard, { resource: 'review', action: 'read', actor: 'forbidden' }), answer)
  app.get(ROUTES.crash, authorize(guard, { resource: 'crash', action: 'read' }), answer)
  app.get(ROUTES.offline, authorize(guard, { resource: 'offline', action: 'read' }), answer)
  app.get(ROUTES.batch, authorize(guard, { resource: (req) => loadReview(req.params), action: 'read', actor: 'required' }), answerBatch)
  app.get(ROUTES.claimed, authorize(guard, { resource: (req) => loadReview(req.params), action: 'read', actor: 'required', claims: CLAIMED_ROUTE_CLAIMS }), answer)
  app.get(ROUTES.stepUp, authorize(guard, { resource: (req) => loadReview(req.params), action: 'read', actor: 'required', claims: STEP_UP_CLAIMS }), answer)
  const server = await new Promise<Server>((resolve) => {
    const listening: Server = app.listen(0, '127.0.0.1', () => resolve(listening))
  })
  return { url: urlOf(server), close: () => closeServer(server), routes: () => listRoutes(app) }
}
