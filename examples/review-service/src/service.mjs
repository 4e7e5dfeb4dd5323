/**
 * review-service (Fastify): holds performance reviews in Postgres (PGlite), protected by the seed
 * policy. Only employee-service may read a review, and only for a manager of the review's department
 * or an HR user. The AI reporting agent may read aggregates (`hr_report`), never a review.
 * `GET /reviews` lists what the caller may read: the guard plans for the verified caller and the
 * plan becomes the query's WHERE condition.
 */
import Fastify from 'fastify'
import { meshguard } from '@meshguard/fastify'
import { listRoutes } from '@meshguard/fastify/testing'
import { continueTrace, createServiceMeshguard } from '@meshguard-examples/service-kit'
import { aggregate } from './reviews.mjs'
import { openReviewStore } from './store.mjs'

/** This service's workload identity. */
export const SERVICE_ID = 'spiffe://meshguard.example/ns/hr/sa/review-service'

/**
 * The policy needs the review's department: load it before deciding. Unknown ids get no
 * attributes, so they are denied like any review the caller may not see (no existence oracle).
 * @param {import('./store.mjs').ReviewStore} store
 */
const reviewResource = (store) => async (/** @type {{ params: unknown }} */ request) => {
  const id = String(/** @type {Record<string, unknown>} */ (request.params)['id'] ?? '')
  const review = await store.byId(id)
  return { kind: 'review', id, attr: review ? { department: review.department, employee: review.employee } : {} }
}

/**
 * `GET /reviews`: a plan for `read` on `review`. employee-service may list (a plain employee then
 * gets an empty list: the plan denies every review); any other workload, the AI agent among them,
 * is refused 403.
 */
const LIST_REVIEWS = { list: { resource: 'review', action: 'read', actor: /** @type {const} */ ('required'), emptyForRoles: ['employee-service'] } }

/**
 * Starts review-service.
 * @param {import('@meshguard-examples/service-kit').ServiceConfig} config
 * @returns {Promise<{ url: string, id: string, flush: () => Promise<void>, close: () => Promise<void>, routes: () => import('@meshguard/core/adapter').RouteRequirement[] }>}
 */
export async function start(config) {
  const mesh = await createServiceMeshguard(config, SERVICE_ID)
  const store = await openReviewStore()
  const app = Fastify()
  app.addHook('onRequest', continueTrace)
  await app.register(meshguard, { guard: mesh.guard })

  app.get('/health', { config: { meshguard: { public: true } } }, async () => ({ service: mesh.id, policyDigest: mesh.engine.policyDigest }))

  app.get('/reviews', { config: { meshguard: LIST_REVIEWS } }, async (request) => {
    // The guard ran: `plan` is this caller's query plan, and the database applies it.
    const plan = request.meshguard?.plan
    if (!plan) throw new Error('list route without a query plan') // never: the guard sets it, and a 500 fails closed
    return { planKind: plan.kind, reviews: await store.list(plan) }
  })

  app.get(
    '/reviews/:id',
    { config: { meshguard: { resource: reviewResource(store), action: 'read', actor: 'required' } } },
    async (request, reply) => {
      const review = await store.byId(String(/** @type {Record<string, unknown>} */ (request.params)['id']))
      if (!review) return reply.code(404).send({ error: 'no such review' })
      return review
    },
  )

  app.get(
    '/reports/hr',
    { config: { meshguard: { resource: () => ({ kind: 'hr_report', id: 'reviews-2026', attr: {} }), action: 'read:aggregate', actor: 'required' } } },
    async () => aggregate(),
  )

  const url = await app.listen({ host: config.host ?? '127.0.0.1', port: config.port ?? 0 })
  return {
    url,
    id: mesh.id,
    flush: () => mesh.audit.flush(),
    // The route table (what each route requires), for the demo and for route-coverage checks.
    routes: () => listRoutes(app),
    close: async () => {
      await app.close()
      await mesh.close()
      await store.close()
    },
  }
}
