/**
 * gateway (Express): the edge. It verifies the user's (or agent's) access token, then calls inward
 * **on their behalf**. With a Txn-Token Service configured (`txnTokens`, the default of the sample
 * system) it exchanges the access token for a Txn-Token scoped to the route's purpose and forwards
 * only that: the access token stops here. Without one (access-token mode) it forwards the access
 * token as the actor. Either way meshguard's fetch mints a workload token for each callee, bound to
 * what travels with it. The gateway holds no business rules; every inner hop decides itself.
 */
import { createServer } from 'node:http'
import express from 'express'
import { SpanStatusCode, trace } from '@opentelemetry/api'
import { callerContext, createWorkloadIdentity, MeshguardError, selfSignedTokenSource } from '@meshguard/core'
import { createTxnTokenExchange } from '@meshguard/core/txn-tokens'
import { createMeshguardFetch } from '@meshguard/client'
import { createEdgeAuthenticator, EdgeAuthError } from './edge.mjs'
import { relay, serve, wimseIdentity } from '@meshguard-examples/service-kit'

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
 * @property {{ tokenEndpoint: string, trustDomain: string }} [txnTokens]  the Txn-Token Service:
 *   with it, only Txn-Tokens go inward
 * @property {import('@meshguard-examples/service-kit').WimseConfig} [wimse]  the WIMSE profile: a WIT
 *   from the issuer and a WPT per request instead of a self-signed token per callee
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
  const wimse = config.wimse ? wimseIdentity({ id, signingKey: config.signingKey, kid: config.kid, issuerUrl: config.wimse.issuerUrl }) : undefined
  const workload = wimse?.identity ?? createWorkloadIdentity({ id, source: selfSignedTokenSource({ key: config.signingKey, kid: config.kid }) })
  const destinations = Object.fromEntries(Object.values(config.upstreams).map((u) => [new URL(u.url).origin, u.id]))
  const fetch = createMeshguardFetch({ identity: workload, destinations, onUnmapped: 'refuse' })
  // Authenticates to the TTS with the gateway's WIT and a proof for the token endpoint (WIMSE), or
  // with a client assertion signed by its own workload key (private_key_jwt).
  const txnTokens = config.txnTokens
    ? createTxnTokenExchange({ ...config.txnTokens, clientId: id, ...(wimse ? { wit: wimse.source } : { key: config.signingKey, kid: config.kid }) })
    : undefined

  /**
   * Runs `fn` with the outbound calls acting for the user: with a Txn-Token for `purpose` when a TTS
   * is configured (a refusal is 403, a TTS down or slow 503, never the access token instead), else
   * with the access token itself.
   * @template T
   * @param {{ token: string }} user
   * @param {string} purpose
   * @param {() => Promise<T>} fn
   */
  const actingFor = async (user, purpose, fn) => {
    if (!txnTokens) return callerContext.runWithActor(user.token, fn)
    const issued = await txnTokens.exchange({ subjectToken: user.token, scope: purpose, requestContext: { transport: 'http' } })
    return callerContext.runWithTxnToken(issued.token, fn)
  }

  /**
   * Verifies the user, then forwards to `target` acting for them, for the route's purpose.
   * @param {string} purpose  the scope a Txn-Token is obtained for (Txn-Token mode)
   * @param {(req: import('express').Request) => { url: string, method?: string, body?: unknown }} route
   * @returns {import('express').RequestHandler}
   */
  const forward = (purpose, route) => async (req, res, next) => {
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
      // Everything called inside acts for this user; the client forwards their Txn-Token (or, in
      // access-token mode, their access token), bound to a token the gateway mints per callee.
      const answer = await actingFor(user, purpose, async () =>
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
      // The TTS refused (403 txn_token_denied) or is down or slow (503): answered as such, closed.
      if (!(err instanceof MeshguardError) || res.headersSent) return next(err)
      res.status(err.httpStatus).type('application/problem+json').json({
        type: `urn:meshguard:problem:${err.code.replace(/^ERR_AUTHZ_/, '').toLowerCase().replaceAll('_', '-')}`,
        title: err.httpStatus === 403 ? 'Forbidden' : 'Service Unavailable',
        status: err.httpStatus,
        detail: err.httpStatus === 403 ? 'No Txn-Token is issued for this purpose.' : 'The Txn-Token Service is unavailable; try again later.',
        code: err.code,
        reason: err.reason,
      })
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
  // Each route's purpose: the scope of the Txn-Token it gets (the TTS policy decides who may have it).
  app.get('/api/reviews', forward('review.read', () => ({ url: `${employees}/reviews` })))
  app.get('/api/reviews/:id', forward('review.read', (req) => ({ url: `${employees}/reviews/${encodeURIComponent(String(req.params['id']))}` })))
  app.get('/api/reports/hr-summary', forward('report.read', () => ({ url: `${agent}/summaries/hr` })))
  app.get('/api/reports/hr-raw', forward('report.read', () => ({ url: `${agent}/summaries/hr-raw` })))
  app.get('/api/reports/hr-list', forward('report.read', () => ({ url: `${agent}/summaries/hr-list` })))
  app.post('/api/orders', forward('order.write', (req) => ({ url: `${orders}/orders`, method: 'POST', body: req.body ?? {} })))
  app.post('/api/orders/:id/cancel', forward('order.write', (req) => ({ url: `${orders}/orders/${encodeURIComponent(String(req.params['id']))}/cancel`, method: 'POST' })))

  const http = await serve(createServer(app), config)
  return {
    url: http.url,
    id,
    flush: async () => {},
    close: async () => {
      await http.close()
      await fetch.close()
      await wimse?.source.close?.()
    },
  }
}
