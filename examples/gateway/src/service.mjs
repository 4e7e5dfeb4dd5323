/**
 * gateway (Express): the edge. meshguard's edge guard verifies the user's (or agent's) access token
 * (issuer, audience, `typ: at+jwt`, signature against the IdP's JWKS; Bearer or DPoP-bound), then the
 * gateway calls inward **on their behalf**. With a Txn-Token Service configured (`txnTokens`, the
 * default of the sample system) the guard exchanges the access token for a Txn-Token scoped to the
 * route's purpose and the handler forwards only that: the access token stops here. Without one
 * (access-token mode) the access token travels as the actor. Either way meshguard's fetch mints a
 * workload token for each callee, bound to what travels with it. The gateway holds no business
 * rules; every inner hop decides itself.
 */
import { createServer } from 'node:http'
import express from 'express'
import { SpanStatusCode, trace } from '@opentelemetry/api'
import { createGuard, createWorkloadIdentity, EmbeddedEngine, selfSignedTokenSource } from '@meshguard/core'
import { createTxnTokenExchange } from '@meshguard/core/txn-tokens'
import { createMeshguardFetch } from '@meshguard/client'
import { authenticate } from '@meshguard/express'
import { relay, serve, wimseIdentity } from '@meshguard-examples/service-kit'

/**
 * @typedef {object} IdpSettings  the IdP whose access tokens users present
 * @property {string} issuer
 * @property {string} jwksUri
 * @property {string} audience  the `aud` the gateway's access tokens carry
 */

/** This service's workload identity. */
export const SERVICE_ID = 'spiffe://meshguard.example/ns/edge/sa/gateway'

/**
 * @typedef {object} GatewayConfig
 * @property {string} [id]
 * @property {import('node:crypto').KeyObject | string} signingKey
 * @property {string} kid
 * @property {IdpSettings} idp  the IdP whose access tokens users present
 * @property {Record<string, import('@meshguard-examples/service-kit').Upstream>} upstreams
 *   `employee-service`, `ai-reporting-agent` and `orders`
 * @property {{ tokenEndpoint: string, trustDomain: string }} [txnTokens]  the Txn-Token Service:
 *   with it, only Txn-Tokens go inward
 * @property {import('@meshguard-examples/service-kit').WimseConfig} [wimse]  the WIMSE profile: a WIT
 *   from the issuer and a WPT per request instead of a self-signed token per callee
 * @property {string} [origin]  the origin clients address (DPoP proofs name it): behind a proxy, its
 *   public origin; by default the address the gateway listens on
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

  const wimse = config.wimse ? wimseIdentity({ id, signingKey: config.signingKey, kid: config.kid, issuerUrl: config.wimse.issuerUrl }) : undefined
  const workload = wimse?.identity ?? createWorkloadIdentity({ id, source: selfSignedTokenSource({ key: config.signingKey, kid: config.kid }) })
  const destinations = Object.fromEntries(Object.values(config.upstreams).map((u) => [new URL(u.url).origin, u.id]))
  const fetch = createMeshguardFetch({ identity: workload, destinations, onUnmapped: 'refuse' })
  // Authenticates to the TTS with the gateway's WIT and a proof for the token endpoint (WIMSE), or
  // with a client assertion signed by its own workload key (private_key_jwt).
  const txnTokens = config.txnTokens
    ? createTxnTokenExchange({ ...config.txnTokens, clientId: id, ...(wimse ? { wit: wimse.source } : { key: config.signingKey, kid: config.kid }) })
    : undefined

  /** @type {string | undefined} */
  let origin = config.origin
  const guard = createGuard({
    // The gateway decides nothing itself: its routes only authenticate (and exchange), which never
    // asks the engine, so it loads no policy.
    engine: EmbeddedEngine.fromSources([]),
    service: 'gateway',
    edge: {
      trust: { workloads: [], actors: [{ issuer: config.idp.issuer, keys: { jwksUrl: config.idp.jwksUri }, audiences: [config.idp.audience] }] },
      // Known once the server listens (a configured origin wins); never taken from the Host header.
      origin: () => {
        if (origin === undefined) throw new Error('the gateway is not listening yet')
        return origin
      },
      // With a TTS: every route's purpose is exchanged for a Txn-Token before its handler runs; a
      // refusal is 403 `txn_token_denied`, a TTS down or slow 503, never the access token instead.
      txnTokens,
      // Without one (access-token mode): the verified access token travels inward as the actor.
      forwardAccessToken: txnTokens === undefined,
      requestContext: () => ({ transport: 'http' }),
    },
  })

  /**
   * Verifies the user and (with a TTS) gets a Txn-Token for `purpose`; then forwards to the route's
   * target acting for them: meshguard's fetch sends the Txn-Token (or, in access-token mode, the
   * access token), bound to a workload token the gateway mints per callee.
   * @param {string} purpose  the scope the route serves
   * @param {(req: import('express').Request) => { url: string, method?: string, body?: unknown }} route
   * @returns {import('express').RequestHandler[]}
   */
  const forward = (purpose, route) => [
    // The purpose is what a Txn-Token is asked for. Without a TTS the access token itself travels
    // inward, and the purposes the IdP allows it (`api_scope`) are read by the TTS policy only.
    authenticate(guard, { actor: 'required', ...(txnTokens ? { scope: purpose } : {}) }),
    async (req, res, next) => {
      try {
        const target = route(req)
        const answer = await relay(
          await fetch(target.url, {
            method: target.method ?? 'GET',
            headers: target.body === undefined ? {} : { 'content-type': 'application/json' },
            body: target.body === undefined ? undefined : JSON.stringify(target.body),
          }),
        )
        res.status(answer.status).type(answer.contentType).send(answer.body)
      } catch (err) {
        // The client refused to send (e.g. no token could be minted): the guard's problem answer.
        if (res.headersSent) return next(err)
        const failure = guard.fail(err)
        res.status(failure.status).set(failure.headers).json(failure.problem)
      }
    },
  ]

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
  origin ??= new URL(http.url).origin
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
