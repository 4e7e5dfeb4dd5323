/**
 * gateway (Express): the edge. It verifies the user's (or agent's) access token, then calls inward
 * **on their behalf**: meshguard's fetch mints a workload token for each callee and forwards the
 * access token as the actor. The gateway holds no business rules; every inner hop decides itself.
 */
import { createServer } from 'node:http'
import express from 'express'
import { SpanStatusCode, trace } from '@opentelemetry/api'
import { callerContext, createWorkloadIdentity, selfSignedTokenSource } from '@meshguard/core'
import { createMeshguardFetch } from '@meshguard/client'
import { createEdgeAuthenticator, EdgeAuthError } from './edge.mjs'
import { relay, serve } from '@meshguard-examples/service-kit'

/** This service's workload identity. */
export const SERVICE_ID = 'spiffe://meshguard.example/ns/edge/sa/gateway'

/**
 * @typedef {object} GatewayConfig
 * @property {string} [id]
 * @property {import('node:crypto').KeyObject | string} signingKey
 * @property {string} kid
 * @property {import('./edge.mjs').IdpSettings} idp  the IdP whose access tokens users present
 * @property {Record<string, import('@meshguard-examples/service-kit').Upstream>} upstreams
 *   `employee-service`, `ai-reporting-agent` and `orders`
 * @property {string} [host]
 * @property {number} [port]
 */

/**
 * Starts the gateway.
 * @param {GatewayConfig} config
 * @returns {Promise<{ url: string, id: string, flush: () => Promise<void>, close: () => Promise<void> }>}
 */
export async function start(config) {
  const id = config.id ?? SERVICE_ID
  const upstream = (/** @type {string} */ name) => {
    const found = config.upstreams[name]
    if (!found) throw new Error(`gateway needs upstreams['${name}']`)
    return found.url
  }
  const employees = upstream('employee-service')
  const agent = upstream('ai-reporting-agent')
  const orders = upstream('orders')

  const authenticate = createEdgeAuthenticator(config.idp)
  const workload = createWorkloadIdentity({ id, source: selfSignedTokenSource({ key: config.signingKey, kid: config.kid }) })
  const destinations = Object.fromEntries(Object.values(config.upstreams).map((u) => [new URL(u.url).origin, u.id]))
  const fetch = createMeshguardFetch({ identity: workload, destinations, onUnmapped: 'refuse' })

  /**
   * Verifies the user, then forwards to `target` acting for them.
   * @param {(req: import('express').Request) => { url: string, method?: string, body?: unknown }} route
   * @returns {import('express').RequestHandler}
   */
  const forward = (route) => async (req, res, next) => {
    let user
    try {
      user = await authenticate(req.get('authorization'))
    } catch (err) {
      if (!(err instanceof EdgeAuthError)) return next(err)
      const missing = err.reason === 'token_missing'
      res
        .status(401)
        .type('application/problem+json')
        .json({
          type: `urn:meshguard:problem:${missing ? 'identity-missing' : 'identity-invalid'}`,
          title: 'Unauthorized',
          status: 401,
          detail: missing ? 'Sign in first: no access token was sent.' : 'The access token was rejected.',
          code: missing ? 'ERR_AUTHZ_IDENTITY_MISSING' : 'ERR_AUTHZ_IDENTITY_INVALID',
          reason: err.reason,
        })
      return
    }
    try {
      const target = route(req)
      // Everything called inside acts for this user; the client forwards their token, bound to a
      // token the gateway mints per callee.
      const answer = await callerContext.runWithActor(user.token, async () =>
        relay(
          await fetch(target.url, {
            method: target.method ?? 'GET',
            headers: target.body === undefined ? {} : { 'content-type': 'application/json' },
            body: target.body === undefined ? undefined : JSON.stringify(target.body),
          }),
        ),
      )
      res.status(answer.status).type(answer.contentType).send(answer.body)
    } catch (err) {
      next(err)
    }
  }

  // The edge starts each request's trace; every inner hop continues it (see continueTrace).
  const tracer = trace.getTracer('meshguard-example-gateway')
  const app = express()
  app.use(express.json())
  app.use((req, res, next) => {
    tracer.startActiveSpan(`${req.method} gateway`, (span) => {
      res.once('finish', () => {
        if (res.statusCode >= 500) span.setStatus({ code: SpanStatusCode.ERROR })
        span.end()
      })
      next()
    })
  })
  app.get('/health', (_req, res) => {
    res.json({ service: id })
  })
  app.get('/api/reviews', forward(() => ({ url: `${employees}/reviews` })))
  app.get('/api/reviews/:id', forward((req) => ({ url: `${employees}/reviews/${encodeURIComponent(String(req.params['id']))}` })))
  app.get('/api/reports/hr-summary', forward(() => ({ url: `${agent}/summaries/hr` })))
  app.get('/api/reports/hr-raw', forward(() => ({ url: `${agent}/summaries/hr-raw` })))
  app.get('/api/reports/hr-list', forward(() => ({ url: `${agent}/summaries/hr-list` })))
  app.post('/api/orders', forward((req) => ({ url: `${orders}/orders`, method: 'POST', body: req.body ?? {} })))
  app.post('/api/orders/:id/cancel', forward((req) => ({ url: `${orders}/orders/${encodeURIComponent(String(req.params['id']))}/cancel`, method: 'POST' })))

  const http = await serve(createServer(app), config)
  return {
    url: http.url,
    id,
    flush: async () => {},
    close: async () => {
      await http.close()
      await fetch.close()
    },
  }
}
