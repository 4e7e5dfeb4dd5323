/**
 * payments (Fastify): charges and refunds. orders may charge the user it acts for; only the
 * billing workload may refund. A compromised orders service trying a refund (lateral movement) is
 * denied here, whatever it was able to do upstream.
 */
import Fastify from 'fastify'
import { meshguard } from '@meshguard/fastify'
import { continueTrace, createServiceMeshguard } from '@meshguard-examples/service-kit'

/** This service's workload identity. */
export const SERVICE_ID = 'spiffe://meshguard.example/ns/shop/sa/payments'

/**
 * @typedef {{ id: string, customer: string, amount: number, status: 'charged' | 'refunded' }} Payment
 */

/**
 * Starts payments.
 * @param {import('@meshguard-examples/service-kit').ServiceConfig} config
 * @returns {Promise<{ url: string, id: string, flush: () => Promise<void>, close: () => Promise<void> }>}
 */
export async function start(config) {
  const mesh = await createServiceMeshguard(config, SERVICE_ID)
  /** @type {Map<string, Payment>} */
  const payments = new Map()
  const app = Fastify()
  app.addHook('onRequest', continueTrace)
  await app.register(meshguard, { guard: mesh.guard })

  const idOf = (/** @type {{ params: unknown }} */ request) => String(/** @type {Record<string, unknown>} */ (request.params)['id'] ?? '')

  app.get('/health', { config: { meshguard: { public: true } } }, async () => ({ service: mesh.id, policyDigest: mesh.engine.policyDigest }))

  // The charge names its customer in the body; the policy checks it is the user orders acts for.
  app.post(
    '/payments/:id/charge',
    {
      config: {
        meshguard: {
          resource: (/** @type {{ params: unknown, body: any }} */ request) => ({
            kind: 'payment',
            id: idOf(request),
            attr: { customer: String(request.body?.customer ?? ''), amount: Number(request.body?.amount ?? 0) },
          }),
          action: 'charge',
          actor: 'required',
        },
      },
    },
    async (request, reply) => {
      const body = /** @type {any} */ (request.body)
      const payment = { id: idOf(request), customer: String(body.customer), amount: Number(body.amount), status: /** @type {const} */ ('charged') }
      payments.set(payment.id, payment)
      return reply.code(201).send(payment)
    },
  )

  // A refund is about an existing payment: its customer comes from our records, not the caller.
  app.post(
    '/payments/:id/refund',
    {
      config: {
        meshguard: {
          resource: (/** @type {{ params: unknown }} */ request) => {
            const payment = payments.get(idOf(request))
            return { kind: 'payment', id: idOf(request), attr: payment ? { customer: payment.customer, amount: payment.amount } : {} }
          },
          action: 'refund',
          actor: 'required',
        },
      },
    },
    async (request, reply) => {
      const payment = payments.get(idOf(request))
      if (!payment) return reply.code(404).send({ error: 'no such payment' })
      payment.status = 'refunded'
      return payment
    },
  )

  const url = await app.listen({ host: config.host ?? '127.0.0.1', port: config.port ?? 0 })
  return {
    url,
    id: mesh.id,
    flush: () => mesh.audit.flush(),
    close: async () => {
      await app.close()
      await mesh.close()
    },
  }
}
