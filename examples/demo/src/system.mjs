/**
 * Starts the whole sample system in this process, on 127.0.0.1 with ports chosen by the OS:
 * the IdP, then every service in dependency order, each with its own signing key. Builds the trust
 * bundle the services share (who may call whom is then up to the policies).
 */
import { generateKeyPairSync, randomBytes } from 'node:crypto'
import { createWorkloadIdentity, functionSink, selfSignedTokenSource } from '@meshguard/core'
import { fileSink } from '@meshguard/core/node'
import { startIdp } from '@meshguard-examples/idp'
import { start as startGateway, SERVICE_ID as GATEWAY_ID } from '@meshguard-examples/gateway'
import { start as startEmployees, SERVICE_ID as EMPLOYEES_ID } from '@meshguard-examples/employee-service'
import { start as startReviews, SERVICE_ID as REVIEWS_ID } from '@meshguard-examples/review-service'
import { start as startAgent, SERVICE_ID as AGENT_ID } from '@meshguard-examples/ai-reporting-agent'
import { start as startOrders, SERVICE_ID as ORDERS_ID } from '@meshguard-examples/orders'
import { start as startPayments, SERVICE_ID as PAYMENTS_ID } from '@meshguard-examples/payments'
import { registerTracing } from './tracing.mjs'

/**
 * @typedef {object} RunningService
 * @property {string} url
 * @property {string} id
 * @property {() => Promise<void>} flush
 * @property {() => Promise<void>} close
 * @property {() => import('@meshguard/core/adapter').RouteRequirement[]} [routes]  the route table, when the service offers it
 */

/**
 * @typedef {object} System
 * @property {{ gateway: string, employees: string, review: string, agent: string, orders: string, payments: string, idp: string }} urls
 * @property {{ alice: string, hana: string, ed: string, agent: string }} tokens  actor tokens from the IdP
 * @property {{ replayedHeaders: () => Promise<Record<string, string>>, forgedHeaders: () => Promise<Record<string, string>>, expiredHeaders: () => Promise<Record<string, string>> }} attacker
 * @property {any[]} audit       every audit record written so far, in order
 * @property {() => import('@meshguard/core/adapter').RouteRequirement[]} reviewRoutes  review-service's route table
 * @property {string} auditFile  where the JSON-lines audit log is
 * @property {() => Promise<void>} flushAudit  waits until every service has written its records
 * @property {(id: string | undefined) => string} nameOf  short name of a workload or actor id
 * @property {() => Promise<void>} close  stops everything that was started (idempotent)
 */

/** A fresh Ed25519 key with the public JWK the trust bundle publishes for it. */
function newKey(/** @type {string} */ name) {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519')
  const kid = `${name}-${randomBytes(4).toString('hex')}`
  /** @type {import('@meshguard/core').PublicJwk} */
  const jwk = { kty: 'OKP', ...publicKey.export({ format: 'jwk' }), kid, alg: 'EdDSA', use: 'sig' }
  return { privateKey, kid, jwk }
}

/**
 * @param {{ auditFile: string }} options
 * @returns {Promise<System>}
 */
export async function startSystem(options) {
  /** @type {Array<() => Promise<void>>} */
  const stops = []
  /** @type {RunningService[]} */
  const services = []
  /** @type {any[]} */
  const audit = []
  let closed = false
  const close = async () => {
    if (closed) return
    closed = true
    // Inner services last: callers first, so no request is cut mid-flight by a vanished callee.
    for (const stop of stops.reverse()) await stop().catch(() => {})
  }

  try {
    // Trace ids in the audit records: one trace per request, started at the gateway.
    const unregisterTracing = registerTracing()
    stops.push(async () => unregisterTracing())
    const idp = await startIdp()
    stops.push(() => idp.close())

    const ids = { gateway: GATEWAY_ID, employees: EMPLOYEES_ID, review: REVIEWS_ID, agent: AGENT_ID, orders: ORDERS_ID, payments: PAYMENTS_ID }
    const keys = Object.fromEntries(Object.entries(ids).map(([name]) => [name, newKey(name)]))
    // Each workload's public key may sign only for that workload's identity.
    const trust = {
      workloads: Object.entries(ids).map(([name, id]) => ({ issuer: id, keys: { jwks: { keys: [keys[name].jwk] } } })),
      actors: [{ issuer: idp.issuer, keys: { jwksUrl: idp.jwksUri }, audiences: [idp.audience] }],
    }
    const auditSinks = () => [functionSink((record) => void audit.push(record)), fileSink({ path: options.auditFile })]
    const base = (/** @type {keyof typeof ids} */ name) => ({ id: ids[name], signingKey: keys[name].privateKey, kid: keys[name].kid, trust, auditSinks: auditSinks() })

    /** @param {Promise<RunningService>} starting */
    const track = async (starting) => {
      const service = await starting
      services.push(service)
      stops.push(() => service.close())
      return service
    }
    const up = (/** @type {RunningService} */ s) => ({ url: s.url, id: s.id })

    const payments = await track(startPayments(base('payments')))
    const review = await track(startReviews(base('review')))
    const orders = await track(startOrders({ ...base('orders'), upstreams: { payments: up(payments) } }))
    const employees = await track(startEmployees({ ...base('employees'), upstreams: { 'review-service': up(review) } }))
    const agent = await track(startAgent({ ...base('agent'), upstreams: { 'review-service': up(review) } }))
    const gateway = await track(
      startGateway({
        id: ids.gateway,
        signingKey: keys.gateway.privateKey,
        kid: keys.gateway.kid,
        idp: { issuer: idp.issuer, jwksUri: idp.jwksUri, audience: idp.audience },
        upstreams: { 'employee-service': up(employees), 'ai-reporting-agent': up(agent), orders: up(orders) },
      }),
    )

    const tokens = {
      alice: await idp.userToken('alice'),
      hana: await idp.userToken('hana'),
      ed: await idp.userToken('ed'),
      agent: await idp.agentToken('hr-reporting-agent'),
    }

    // What an attacker could hold: employee-service's genuine tokens (captured in flight, or
    // minted an hour ago), or a look-alike signed with a key of their own.
    const employeeIdentity = (/** @type {import('node:crypto').KeyObject} */ key, /** @type {() => number} */ clock = Date.now) =>
      createWorkloadIdentity({ id: ids.employees, source: selfSignedTokenSource({ key, kid: keys.employees.kid }), clock })
    const attacker = {
      replayedHeaders: () => employeeIdentity(keys.employees.privateKey).headersFor({ audience: ids.review, actor: tokens.ed }),
      forgedHeaders: () => employeeIdentity(newKey('attacker').privateKey).headersFor({ audience: ids.review, actor: tokens.hana }),
      expiredHeaders: () =>
        employeeIdentity(keys.employees.privateKey, () => Date.now() - 3_600_000).headersFor({ audience: ids.review, actor: tokens.hana }),
    }

    /** @type {Record<keyof typeof ids, string>} */
    const shortNames = { gateway: 'gateway', employees: 'employee-service', review: 'review-service', agent: 'ai-reporting-agent', orders: 'orders', payments: 'payments' }
    const names = new Map(Object.entries(ids).map(([name, id]) => [id, shortNames[/** @type {keyof typeof ids} */ (name)]]))
    return {
      urls: { gateway: gateway.url, employees: employees.url, review: review.url, agent: agent.url, orders: orders.url, payments: payments.url, idp: idp.issuer },
      tokens,
      attacker,
      audit,
      auditFile: options.auditFile,
      reviewRoutes: () => review.routes?.() ?? [],
      flushAudit: async () => {
        await Promise.all(services.map((s) => s.flush()))
      },
      nameOf: (id) => (id === undefined ? '' : (names.get(id) ?? id)),
      close,
    }
  } catch (err) {
    await close()
    throw err
  }
}
