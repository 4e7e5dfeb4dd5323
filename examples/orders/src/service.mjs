/**
 * orders (Express): places orders for signed-in employees and charges them at payments. Its cancel
 * route plays a compromised service: it tries to *refund* at payments, which only billing may do.
 */
import { createServer } from 'node:http'
import express from 'express'
import { authorize } from '@meshguard/express'
import { continueTrace, createServiceMeshguard, relay, serve } from '@meshguard-examples/service-kit'

/** This service's workload identity. */
export const SERVICE_ID = 'spiffe://meshguard.example/ns/shop/sa/orders'

/**
 * Starts orders. `config.upstreams.payments` must point at payments.
 * @param {import('@meshguard-examples/service-kit').ServiceConfig} config
 * @returns {Promise<{ url: string, id: string, flush: () => Promise<void>, close: () => Promise<void> }>}
 */
export async function start(config) {
  const payments = config.upstreams?.['payments']
  if (!payments) throw new Error("orders needs upstreams['payments']")
  const mesh = await createServiceMeshguard(config, SERVICE_ID)
  let nextOrder = 1

  const app = express()
  app.use(continueTrace)
  app.use(express.json())
  app.get('/health', (_req, res) => {
    res.json({ service: mesh.id, policyDigest: mesh.engine.policyDigest })
  })

  app.post('/orders', authorize(mesh.guard, { resource: 'order', action: 'create', actor: 'required' }), async (req, res) => {
    const orderId = `ord-${nextOrder++}`
    // The user this request acts for, as verified by meshguard (never taken from the body).
    const act = /** @type {{ user?: { id?: string } } | undefined} */ (req.meshguard?.caller.principal.attr?.['act'])
    const customer = String(act?.user?.id ?? '')
    const amount = Number(req.body?.amount ?? 0)
    const charge = await mesh.fetch(`${payments.url}/payments/pay-${orderId}/charge`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ customer, amount }),
    })
    if (!charge.ok) {
      const answer = await relay(charge)
      res.status(answer.status).type(answer.contentType).send(answer.body)
      return
    }
    res.status(201).json({ id: orderId, item: String(req.body?.item ?? ''), amount, payment: await charge.json() })
  })

  // The lateral move: orders has no business refunding; payments' policy says so.
  app.post('/orders/:id/cancel', authorize(mesh.guard, { resource: 'order', action: 'cancel', actor: 'required' }), async (req, res) => {
    const refund = await mesh.fetch(`${payments.url}/payments/pay-${encodeURIComponent(String(req.params['id']))}/refund`, { method: 'POST' })
    const answer = await relay(refund)
    res.status(answer.status).type(answer.contentType).send(answer.body)
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
