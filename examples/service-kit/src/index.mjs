/**
 * Wires meshguard for one service: policies → embedded engine, trust bundle → identity verifier,
 * signing key → outbound workload identity, plus the guard (inbound) and fetch (outbound).
 * Every sample service imports this one package (`@meshguard-examples/service-kit`), so a fix here
 * reaches all of them; to take a service out of this repository, copy this package along with it.
 */
import { fileURLToPath } from 'node:url'
import { ROOT_CONTEXT, context, propagation } from '@opentelemetry/api'
import {
  createAuditLog,
  createMeshguard,
  createTelemetry,
  selfSignedTokenSource,
  stdoutSink,
} from '@meshguard/core'
import { createWimseIdentity, witIssuerSource } from '@meshguard/core/wimse'
import { createMeshguardFetch } from '@meshguard/client'

/** The sample system's shared policy directory. */
export const DEFAULT_POLICY_DIR = fileURLToPath(new URL('../../policies/', import.meta.url))

/**
 * @typedef {object} Upstream
 * @property {string} url  base URL, e.g. `http://127.0.0.1:4100`
 * @property {string} id   the callee's SPIFFE ID (the audience of tokens minted for it)
 */

/**
 * @typedef {object} ServiceConfig
 * @property {string} [id]         this service's SPIFFE ID (each service has a default)
 * @property {import('node:crypto').KeyObject | string} signingKey  private key (Ed25519 or P-256), KeyObject or PEM
 * @property {string} kid          key id published for it in the trust bundle
 * @property {import('@meshguard/core').TrustBundle | import('@meshguard/core').TrustBundleOptions} trust
 *   who may call this service (workload keys) and which IdPs issue actor tokens
 * @property {string} [policyDir]  defaults to `examples/policies`
 * @property {import('@meshguard/core').AuditSink[]} [auditSinks] defaults to JSON lines on stdout
 * @property {Omit<import('@meshguard/core').AuditLogOptions, 'sinks'>} [audit] the audit log's other
 *   options (`failClosed`, `bufferSize`, `maxUnconfirmedRecords`, ...); defaults as documented
 * @property {Record<string, Upstream>} [upstreams] services this one calls
 * @property {WimseConfig} [wimse] the WIMSE profile (WIT + WPT): this service gets its WIT from the
 *   WIT issuer and sends a WPT per request; it accepts WIT/WPT only (`trust.workloadIssuers`)
 * @property {string} [host]       defaults to 127.0.0.1
 * @property {number} [port]       defaults to 0 (a free port)
 */

/**
 * @typedef {object} WimseConfig
 * @property {string} issuerUrl  the WIT issuer (the Txn-Token Service's URL): `POST <issuerUrl>/wit`
 */

/**
 * The outbound identity of the WIMSE profile: a WIT from the issuer, attested with a `private_key_jwt`
 * assertion signed by this service's registered key (the issuer holds its public key; callees never
 * do), and a fresh WPT per attempt whose `aud` is the callee's SPIFFE ID (the destination's audience:
 * the sample services choose their ports at start, so their origins are not known beforehand).
 * @param {{ id: string, signingKey: import('node:crypto').KeyObject | string, kid: string, issuerUrl: string }} options
 */
export function wimseIdentity(options) {
  const registered = selfSignedTokenSource({ key: options.signingKey, kid: options.kid, lifetime: 60 })
  const source = witIssuerSource({
    issuerUrl: options.issuerUrl,
    attestationType: 'private_key_jwt',
    // RFC 7523: iss = sub = the client id, aud = the issuer URL, a fresh jti, signed with the registered key.
    attestation: async () => (await registered.token({ id: options.id, audience: options.issuerUrl, now: Date.now() })).token,
  })
  return { identity: createWimseIdentity({ source, audience: 'destination' }), source }
}

/**
 * @param {ServiceConfig} config
 * @param {string} defaultId
 */
export async function createServiceMeshguard(config, defaultId) {
  const id = config.id ?? defaultId
  const audit = createAuditLog({ ...config.audit, sinks: config.auditSinks ?? [stdoutSink()] })
  const wimse = config.wimse ? wimseIdentity({ id, signingKey: config.signingKey, kid: config.kid, issuerUrl: config.wimse.issuerUrl }) : undefined
  const meshguard = await createMeshguard({
    service: id,
    // Cerbos policies, compiled once into the embedded engine.
    policies: config.policyDir ?? DEFAULT_POLICY_DIR,
    // Inbound: tokens must be minted for this service, by a workload the trust bundle knows. In the
    // WIMSE profile: a WIT from a trusted issuer and a WPT for this service (its SPIFFE ID).
    identity: { audience: id, trust: config.trust, ...(wimse ? { wimse: { audiences: [id] } } : {}) },
    // Outbound (self-signed profile): tokens this service mints for its callees, signed with its own key.
    ...(wimse ? {} : { workload: { id, source: selfSignedTokenSource({ key: config.signingKey, kid: config.kid }) } }),
    audit,
    telemetry: createTelemetry(),
  })
  const { guard, engine } = meshguard
  const identity = wimse?.identity ?? /** @type {NonNullable<typeof meshguard.workload>} */ (meshguard.workload)
  // Only these origins ever receive identity headers; anything else is refused before sending.
  const destinations = Object.fromEntries(Object.values(config.upstreams ?? {}).map((u) => [new URL(u.url).origin, u.id]))
  const fetch = createMeshguardFetch({ identity, destinations, onUnmapped: 'refuse' })
  return {
    id,
    engine,
    guard,
    audit,
    fetch,
    async close() {
      await fetch.close()
      await wimse?.source.close?.()
      await meshguard.close()
      await audit.close()
    },
  }
}

/**
 * Continues the caller's trace (W3C `traceparent`) for this request, so this hop's authorization span
 * and the calls it makes join the caller's trace. Express middleware and Fastify `onRequest` hook
 * alike. A no-op until an OpenTelemetry SDK is registered; with the SDK, the HTTP instrumentation
 * (`@opentelemetry/instrumentation-http`) does the same job.
 * @param {{ headers: Record<string, string | string[] | undefined> }} req
 * @param {unknown} _res
 * @param {() => void} next
 */
export function continueTrace(req, _res, next) {
  context.with(propagation.extract(ROOT_CONTEXT, req.headers), next)
}

/**
 * Serves a Node HTTP server on the configured host/port (loopback and a free port by default).
 * @param {import('node:http').Server} server
 * @param {{ host?: string, port?: number }} config
 * @returns {Promise<{ url: string, close: () => Promise<void> }>}
 */
export async function serve(server, config) {
  const host = config.host ?? '127.0.0.1'
  await new Promise((resolve, reject) => {
    server.once('error', reject)
    server.listen(config.port ?? 0, host, () => resolve(undefined))
  })
  const address = /** @type {import('node:net').AddressInfo} */ (server.address())
  return {
    url: `http://${host}:${address.port}`,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}

/**
 * Relays a downstream answer (status, content type, body) to the caller: a 403 at review-service
 * stays a 403 with its problem body.
 * @param {Response | import('undici').Response} upstream
 */
export async function relay(upstream) {
  return {
    status: upstream.status,
    contentType: upstream.headers.get('content-type') ?? 'application/json',
    body: await upstream.text(),
  }
}
