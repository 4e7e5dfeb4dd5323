/**
 * employee-service (Express): the HR portal's backend. The gateway calls it on behalf of a signed-in
 * employee; it reads the review from review-service **for that user**, so review-service applies the
 * seed policy to the user, not to employee-service's own rights.
 */
import { createServer } from 'node:http'
import express from 'express'
import { authorize } from '@meshguard/express'
import { continueTrace, createServiceMeshguard, relay, serve } from '@meshguard-examples/service-kit'

/** This service's workload identity. */
export const SERVICE_ID = 'spiffe://meshguard.example/ns/hr/sa/employee-service'

/**
 * Starts employee-service. `config.upstreams['review-service']` must point at review-service.
 * @param {import('@meshguard-examples/service-kit').ServiceConfig} config
 * @returns {Promise<{ url: string, id: string, flush: () => Promise<void>, close: () => Promise<void> }>}
 */
export async function start(config) {
  const reviews = config.upstreams?.['review-service']
  if (!reviews) throw new Error("employee-service needs upstreams['review-service']")
  const mesh = await createServiceMeshguard(config, SERVICE_ID)

  const app = express()
  app.use(continueTrace)
  // Only the gateway, on behalf of an employee (policy: employee_review).
  app.get(
    '/reviews/:id',
    authorize(mesh.guard, { resource: 'employee_review', action: 'read', actor: 'required' }),
    async (req, res) => {
      // meshguard's fetch mints a token for review-service and forwards the user's token.
      const answer = await relay(await mesh.fetch(`${reviews.url}/reviews/${encodeURIComponent(String(req.params['id']))}`))
      res.status(answer.status).type(answer.contentType).send(answer.body)
    },
  )
  app.get('/reviews', authorize(mesh.guard, { resource: 'employee_review', action: 'read', actor: 'required' }), async (_req, res) => {
    // review-service lists what the user may read (its query plan filters in its database).
    const answer = await relay(await mesh.fetch(`${reviews.url}/reviews`))
    res.status(answer.status).type(answer.contentType).send(answer.body)
  })
  app.get('/health', (_req, res) => {
    res.json({ service: mesh.id, policyDigest: mesh.engine.policyDigest })
  })

  const http = await serve(createServer(app), config)
  return {
    url: http.url,
    id: mesh.id,
    flush: () => mesh.audit.flush(),
    close: async () => {
      await http.close()
      await mesh.close()
    },
  }
}
