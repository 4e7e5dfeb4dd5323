/**
 * A WIMSE-receiving service on 127.0.0.1 (Express + @meshguard/express over the real guard): its
 * external origin is its own loopback URL, so proofs made by the client for the real target pass.
 * `/me` answers the verified principal; `/reviews/:id` runs the sample review policy.
 */
import type { Server } from 'node:http'
import { createGuard, createIdentityVerifier, EmbeddedEngine, type IdentityVerifierOptions } from '@meshguard/core'
import { authenticate, authorize } from '@meshguard/express'
import express from 'express'
import { contractEngine, loadReview, POLICY_DIR } from '../adapters/contract.js'
import { closeServer, urlOf } from '../adapters/drivers.js'

/** A running WIMSE service. */
export interface WimseService {
  url: string
  close(): Promise<void>
}

/**
 * Starts the service; `options` builds the verifier from the service's own origin (known only once
 * it listens: Express consults routes added after `listen`).
 */
export async function startWimseService(options: (origin: string) => IdentityVerifierOptions): Promise<WimseService> {
  const app = express()
  const server = await new Promise<Server>((resolve) => {
    const listening: Server = app.listen(0, '127.0.0.1', () => resolve(listening))
  })
  const url = urlOf(server)
  const guard = createGuard({
    engine: contractEngine(await EmbeddedEngine.fromDirectory(POLICY_DIR)),
    identity: createIdentityVerifier(options(url)),
    service: 'review-service',
  })
  app.get('/me', authenticate(guard), (req, res) => {
    const caller = req.meshguard?.caller
    res.json({ id: caller?.principal.id, roles: caller?.principal.roles, attr: caller?.principal.attr, actor: caller?.actor?.id ?? null })
  })
  app.get('/reviews/:id', authorize(guard, { resource: (req) => loadReview(req.params), action: 'read', actor: 'required' }), (req, res) => {
    res.json({ workload: req.meshguard?.caller.principal.id, actor: req.meshguard?.caller.actor?.id })
  })
  return { url, close: () => closeServer(server) }
}
