/**
 * Starts the whole sample system in this process, on 127.0.0.1 with ports chosen by the OS:
 * the IdP, the Txn-Token Service, then every service in dependency order, each with its own signing
 * key. Builds the trust bundle the services share (who may call whom is then up to the policies).
 *
 * Three profiles (`mode`):
 * - `wimse` (the default): WIMSE WIT/WPT + Txn-Tokens. Every service gets its Workload Identity Token
 *   from the WIT issuer in the Txn-Token Service, attesting with a `private_key_jwt` assertion signed
 *   by its registered key (only the issuer holds those public keys), and sends a fresh Workload Proof
 *   Token per request. Every callee trusts ONE key set, the issuer's WIT JWKS
 *   (`trust.workloadIssuers`), whatever the number of callers. Roles come from each workload's
 *   identifier, as the callee derives it (the issuer asserts none).
 * - `self-signed`: Txn-Tokens with self-signed workload tokens; every callee lists every caller's key.
 * - `access-token`: self-signed workload tokens and the user's access token itself forwarded.
 * In the first two the gateway exchanges the user's access token at the Txn-Token Service and only
 * the Txn-Token goes inward; inner services trust the TTS and no access-token issuer.
 * Every request an inner service receives is recorded (headers only), so the demo can show which
 * credentials reached it.
 */
import { generateKeyPairSync, randomBytes } from 'node:crypto'
import { subscribe, unsubscribe } from 'node:diagnostics_channel'
import { createServer } from 'node:http'
import { fileURLToPath } from 'node:url'
import { createAuditLog, createWorkloadIdentity, EmbeddedEngine, functionSink, selfSignedTokenSource } from '@meshguard/core'
import { sha256Base64url } from '@meshguard/core/adapter'
import { fileSink } from '@meshguard/core/node'
import { createTxnTokenExchange } from '@meshguard/core/txn-tokens'
import { createWimseIdentity, signWpt, WIT_HEADER, WIT_JWKS_PATH, witIssuerSource } from '@meshguard/core/wimse'
import { createTxnTokenService } from '@meshguard/txn-token-service'
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
 * @property {Mode} mode
 * @property {Attacker} attacker
 * @property {{ service: string, headers: Record<string, string | string[] | undefined> }[]} received
 *   every request an inner service received (not the gateway, the IdP or the TTS), in order
 * @property {string} [ttsUrl]  the Txn-Token Service (Txn-Token mode)
 * @property {any[]} audit       every audit record written so far, in order
 * @property {() => import('@meshguard/core/adapter').RouteRequirement[]} reviewRoutes  review-service's route table
 * @property {string} auditFile  where the JSON-lines audit log is
 * @property {() => Promise<void>} flushAudit  waits until every service has written its records
 * @property {(id: string | undefined) => string} nameOf  short name of a workload or actor id
 * @property {() => Promise<void>} close  stops everything that was started (idempotent)
 */

/**
 * @typedef {object} Attacker  what an attacker could hold, and do with it
 * @property {() => Promise<Record<string, string>>} replayedHeaders  employee-service's genuine headers for review-service
 * @property {() => Promise<Record<string, string>>} forgedHeaders    a look-alike signed with the attacker's key
 * @property {() => Promise<Record<string, string>>} expiredHeaders   genuine headers minted an hour ago
 * @property {() => Promise<Record<string, string>>} expiredTxnHeaders  an hour-old Txn-Token with a fresh bound workload token
 * @property {() => Promise<Record<string, string>>} splicedTxnHeaders  one Txn-Token on another transaction's workload token
 * @property {() => Promise<Record<string, string>>} foreignTxnHeaders  a Txn-Token of another trust domain's TTS
 * @property {() => Promise<{ status: number, body: any }>} widenTxnToken  employee-service asks for a wider replacement
 * @property {() => Promise<{ status: number, body: any }>} exchangeAsOrders  orders exchanges a user's access token
 * @property {() => Promise<Record<string, string>>} capturedHeaders  (wimse) the WIT + WPT employee-service last sent review-service, captured in flight
 * @property {() => Promise<Record<string, string>>} bearerHeaders    (wimse) a genuine self-signed Bearer workload token of employee-service
 */

/** @typedef {'wimse' | 'self-signed' | 'access-token'} Mode */
/** The profiles `startSystem` runs; the first is the default. */
export const MODES = /** @type {const} */ (['wimse', 'self-signed', 'access-token'])

/** The sample system's trust domain (the `aud` of its Txn-Tokens). */
export const TRUST_DOMAIN = 'meshguard.example'
const TTS_POLICY_DIR = fileURLToPath(new URL('../../tts-policies/', import.meta.url))

/** Steps that need a Txn-Token Service, in access-token mode. */
const noTts = () => Promise.reject(new Error('no Txn-Token Service in access-token mode'))
/** Steps of the WIMSE profile only. */
const notWimse = () => Promise.reject(new Error('not the wimse profile'))

/**
 * Headers with a workload token bound (`txn`, `tth`) to `txnToken` whatever its state, signed by
 * hand with the workload's key: what an attacker holding that key sends.
 * @param {{ privateKey: import('node:crypto').KeyObject, kid: string }} key
 * @param {string} from
 * @param {string} to
 * @param {string} txnToken
 */
async function boundHeaders(key, from, to, txnToken) {
  const { SignJWT } = await import('jose')
  const claims = JSON.parse(Buffer.from(txnToken.split('.')[1] ?? '', 'base64url').toString('utf8'))
  const now = Math.floor(Date.now() / 1000)
  const workload = await new SignJWT({ txn: claims.txn, tth: sha256Base64url(txnToken) })
    .setProtectedHeader({ alg: 'EdDSA', kid: key.kid, typ: 'workload+jwt' })
    .setIssuer(from)
    .setSubject(from)
    .setAudience(to)
    .setIssuedAt(now)
    .setExpirationTime(now + 60)
    .setJti(randomBytes(16).toString('hex'))
    .sign(key.privateKey)
  return { authorization: `Bearer ${workload}`, 'txn-token': txnToken }
}

/** A fresh Ed25519 key with the public JWK the trust bundle publishes for it. */
function newKey(/** @type {string} */ name) {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519')
  const kid = `${name}-${randomBytes(4).toString('hex')}`
  /** @type {import('@meshguard/core').PublicJwk} */
  const jwk = { kty: 'OKP', ...publicKey.export({ format: 'jwk' }), kid, alg: 'EdDSA', use: 'sig' }
  return { privateKey, kid, jwk }
}

/**
 * Starts a Txn-Token Service for `trustDomain` on 127.0.0.1 (the issuer URL needs the port first).
 * With `registeredKeys`, it is also the WIT issuer: those workloads attest with `private_key_jwt`,
 * and its token endpoint then authenticates workloads by the WITs it issued (WIT + WPT) instead of
 * `options.trust`: it holds its own WIT key set, not one key per caller.
 * @param {{ trustDomain: string, trust: import('@meshguard/core').TrustBundleOptions, idp: { issuer: string, jwksUri: string, audience: string }, clock: () => number, auditSinks: any[], registeredKeys?: { clientId: string, keys: import('@meshguard/core').KeySourceOptions }[] }} options
 */
async function startTts(options) {
  /** @type {(req: import('node:http').IncomingMessage, res: import('node:http').ServerResponse) => void} */
  let handler = (_req, res) => {
    res.writeHead(503).end()
  }
  const server = createServer((req, res) => handler(req, res))
  await new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(undefined)))
  const issuer = `http://127.0.0.1:${/** @type {import('node:net').AddressInfo} */ (server.address()).port}`
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' })
  const kid = `tts-${randomBytes(4).toString('hex')}`
  const audit = createAuditLog({ sinks: options.auditSinks })
  const witJwksUri = `${issuer}${WIT_JWKS_PATH}`
  const tts = createTxnTokenService({
    issuer,
    trustDomain: options.trustDomain,
    signingKeys: [{ key: privateKey, kid }],
    trust: options.registeredKeys ? { workloadIssuers: [{ trustDomain: options.trustDomain, issuer, keys: { jwksUrl: witJwksUri } }] } : options.trust,
    subjectIssuers: [
      {
        issuer: options.idp.issuer,
        keys: { jwksUrl: options.idp.jwksUri },
        audiences: [options.idp.audience],
        // The IdP states the API purposes a token allows in `api_scope`; the TTS narrows from them.
        scopeClaim: 'api_scope',
        user: { rolesClaim: 'roles', attributeClaims: ['department', 'type'] },
      },
    ],
    engine: await EmbeddedEngine.fromDirectory(TTS_POLICY_DIR),
    audit,
    clock: options.clock,
    // The WIT issuer: its own key (a WIT key never signs a Txn-Token), registered workload keys only.
    ...(options.registeredKeys
      ? { wit: { signingKeys: [{ key: generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey, kid: `wit-${randomBytes(4).toString('hex')}` }], registeredKeys: options.registeredKeys } }
      : {}),
  })
  handler = tts.handler
  return {
    /**
     * The Txn-Token `token` as the TTS would have issued it `ageMs` earlier (same claims, times moved
     * back, signed with the TTS key): the service itself is never asked to backdate a token.
     * @param {string} token
     * @param {number} ageMs
     */
    issuedEarlier: async (token, ageMs) => {
      const { SignJWT } = await import('jose')
      const claims = JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8'))
      const shift = Math.round(ageMs / 1000)
      return new SignJWT({ ...claims, iat: claims.iat - shift, exp: claims.exp - shift })
        .setProtectedHeader({ alg: 'ES256', kid, typ: 'txntoken+jwt' })
        .sign(privateKey)
    },
    issuer,
    tokenEndpoint: `${issuer}/token`,
    jwksUri: tts.jwksUri,
    witJwksUri,
    close: async () => {
      await tts.close()
      await new Promise((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve(undefined))
      })
      await audit.close()
    },
  }
}

/**
 * @param {{ auditFile: string, mode?: Mode }} options
 * @returns {Promise<System>}
 */
export async function startSystem(options) {
  const mode = options.mode ?? MODES[0]
  if (!MODES.includes(mode)) throw new Error(`unknown mode ${JSON.stringify(mode)}: one of ${MODES.join(', ')}`)
  const wimse = mode === 'wimse'
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
    const workloads = Object.entries(ids).map(([name, id]) => ({ issuer: id, keys: { jwks: { keys: [keys[name].jwk] } } }))
    const auditSinks = () => [functionSink((record) => void audit.push(record)), fileSink({ path: options.auditFile })]

    // The Txn-Token Service, and one of a partner trust domain (whose tokens must be refused here).
    const idpSettings = { issuer: idp.issuer, jwksUri: idp.jwksUri, audience: idp.audience }
    // The TTS authenticates the workloads that call it (the gateway's exchanges, narrowing
    // replacements) by their registered keys, and, in the WIMSE profile, issues WITs to them.
    const registeredKeys = wimse ? Object.entries(ids).map(([name, id]) => ({ clientId: id, keys: { jwks: { keys: [keys[name].jwk] } } })) : undefined
    const tts = mode !== 'access-token'
      ? await startTts({ trustDomain: TRUST_DOMAIN, trust: { workloads }, idp: idpSettings, clock: Date.now, auditSinks: [functionSink(() => {})], registeredKeys })
      : undefined
    if (tts) stops.push(() => tts.close())
    const partnerTts = mode !== 'access-token'
      ? await startTts({ trustDomain: 'partner.example', trust: { workloads }, idp: idpSettings, clock: Date.now, auditSinks: [functionSink(() => {})] })
      : undefined
    if (partnerTts) stops.push(() => partnerTts.close())
    const txnTokens = tts ? { trustDomain: TRUST_DOMAIN, issuer: tts.issuer, keys: { jwksUrl: tts.jwksUri } } : undefined
    // What every callee trusts. WIMSE: one issuer key set, however many callers; no caller's key.
    const trust = wimse && tts
      ? { workloadIssuers: [{ trustDomain: TRUST_DOMAIN, issuer: tts.issuer, keys: { jwksUrl: tts.witJwksUri } }], txnTokens }
      : txnTokens
        ? { workloads, txnTokens }
        : { workloads, actors: [{ issuer: idp.issuer, keys: { jwksUrl: idp.jwksUri }, audiences: [idp.audience] }] }
    const wimseConfig = wimse && tts ? { issuerUrl: tts.issuer } : undefined
    const base = (/** @type {keyof typeof ids} */ name) => ({ id: ids[name], signingKey: keys[name].privateKey, kid: keys[name].kid, trust, wimse: wimseConfig, auditSinks: auditSinks() })

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
        idp: idpSettings,
        upstreams: { 'employee-service': up(employees), 'ai-reporting-agent': up(agent), orders: up(orders) },
        txnTokens: tts ? { tokenEndpoint: tts.tokenEndpoint, trustDomain: TRUST_DOMAIN } : undefined,
        wimse: wimseConfig,
      }),
    )

    // Every request an inner service receives, recorded from Node's own HTTP instrumentation.
    /** @type {Map<number, string>} */
    const innerPorts = new Map(
      [[employees, 'employee-service'], [review, 'review-service'], [agent, 'ai-reporting-agent'], [orders, 'orders'], [payments, 'payments']].map(
        ([service, name]) => [Number(new URL(/** @type {RunningService} */ (service).url).port), /** @type {string} */ (name)],
      ),
    )
    /** @type {System['received']} */
    const received = []
    const onRequest = (/** @type {any} */ message) => {
      const port = message.server?.address()?.port
      const service = innerPorts.get(port)
      if (service) received.push({ service, headers: { ...message.request.headers } })
    }
    subscribe('http.server.request.start', onRequest)
    stops.push(async () => {
      unsubscribe('http.server.request.start', onRequest)
    })

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
    /**
     * A WIT source and WIMSE identity of workload `name`, attested with its registered key (as the
     * service itself does, in service-kit); one per workload, closed with the system.
     */
    const witOf = (() => {
      /** @type {Map<string, { source: import('@meshguard/core/wimse').WitSource, identity: import('@meshguard/core/wimse').WimseIdentity }>} */
      const made = new Map()
      return (/** @type {keyof typeof ids} */ name, /** @type {string} */ issuerUrl) => {
        const known = made.get(name)
        if (known) return known
        const registered = selfSignedTokenSource({ key: keys[name].privateKey, kid: keys[name].kid, lifetime: 60 })
        const source = witIssuerSource({
          issuerUrl,
          attestationType: 'private_key_jwt',
          attestation: async () => (await registered.token({ id: ids[name], audience: issuerUrl, now: Date.now() })).token,
        })
        const wit = { source, identity: createWimseIdentity({ source, audience: 'destination' }) }
        made.set(name, wit)
        stops.push(async () => source.close?.())
        return wit
      }
    })()
    // Genuine Txn-Tokens as the gateway obtains them (what an attacker inside could capture in flight).
    // The sample TTS authenticates its own trust domain's workloads by their WITs in the WIMSE profile;
    // the partner's TTS by their keys.
    const exchangeAs = (/** @type {keyof typeof ids} */ name, /** @type {{ tokenEndpoint: string, issuer: string }} */ at = /** @type {any} */ (tts)) => {
      const partner = at === partnerTts
      const credential = wimse && !partner ? { wit: witOf(name, at.issuer).source } : { key: keys[name].privateKey, kid: keys[name].kid }
      return createTxnTokenExchange({ tokenEndpoint: at.tokenEndpoint, trustDomain: partner ? 'partner.example' : TRUST_DOMAIN, clientId: ids[name], ...credential })
    }
    const txnTokenFor = async (/** @type {string} */ accessToken, /** @type {string} */ scope = 'review.read') =>
      (await exchangeAs('gateway').exchange({ subjectToken: accessToken, scope })).token
    /** What a TTS refusal looks like to the caller. */
    const refusal = async (/** @type {() => Promise<unknown>} */ fn) => {
      try {
        await fn()
        return { status: 200, body: {} }
      } catch (err) {
        const e = /** @type {any} */ (err)
        return { status: e.httpStatus ?? 500, body: { reason: e.reason, detail: e.message } }
      }
    }
    // WIMSE: a genuine WIT of employee-service (what an attacker who holds its registered key, or
    // captured a WIT in flight, has) and proofs signed by hand, as an attacker would.
    const employeeWimse = wimse && tts ? witOf('employees', tts.issuer) : undefined
    /**
     * employee-service's WIT with a WPT for review-service bound to `txnToken`, signed by hand.
     * @param {string} txnToken
     * @param {{ exp?: number, key?: import('node:crypto').KeyObject }} [change]  an expiry, or a key that is not the WIT's
     */
    const proofHeaders = async (txnToken, change = {}) => {
      const credential = await /** @type {NonNullable<typeof employeeWimse>} */ (employeeWimse).source.current()
      const exp = change.exp ?? Math.floor(Date.now() / 1000) + 60
      const wpt = signWpt(change.key ? { ...credential, privateKey: change.key } : credential, { aud: ids.review, exp, tth: sha256Base64url(txnToken) })
      return { [WIT_HEADER]: credential.wit, authorization: `WPT ${wpt}`, 'txn-token': txnToken }
    }
    /** @type {Attacker} */
    const attacker = employeeWimse && tts
      ? {
          replayedHeaders: async () => employeeWimse.identity.headersFor({ audience: ids.review, txnToken: await txnTokenFor(tokens.ed) }),
          forgedHeaders: async () => proofHeaders(await txnTokenFor(tokens.hana), { key: generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey }),
          expiredHeaders: async () => proofHeaders(await txnTokenFor(tokens.hana), { exp: Math.floor(Date.now() / 1000) - 3540 }),
          expiredTxnHeaders: async () => proofHeaders(await tts.issuedEarlier(await txnTokenFor(tokens.hana), 3_600_000)),
          splicedTxnHeaders: async () => {
            const edHeaders = await employeeWimse.identity.headersFor({ audience: ids.review, txnToken: await txnTokenFor(tokens.ed) })
            return { ...edHeaders, 'txn-token': await txnTokenFor(tokens.hana) }
          },
          foreignTxnHeaders: async () =>
            proofHeaders((await exchangeAs('gateway', partnerTts).exchange({ subjectToken: tokens.hana, scope: 'review.read' })).token),
          widenTxnToken: async () =>
            refusal(async () => exchangeAs('employees').replace(await txnTokenFor(tokens.alice), 'review.read order.write')),
          exchangeAsOrders: () => refusal(() => exchangeAs('orders').exchange({ subjectToken: tokens.ed, scope: 'order.write' })),
          capturedHeaders: async () => {
            const seen = received.findLast((r) => r.service === 'review-service' && typeof r.headers[WIT_HEADER.toLowerCase()] === 'string')
            if (!seen) throw new Error('no WIT/WPT request to review-service captured yet')
            const pick = (/** @type {string} */ name) => String(seen.headers[name] ?? '')
            return { [WIT_HEADER]: pick(WIT_HEADER.toLowerCase()), authorization: pick('authorization'), 'txn-token': pick('txn-token') }
          },
          bearerHeaders: async () => employeeIdentity(keys.employees.privateKey).headersFor({ audience: ids.review, txnToken: await txnTokenFor(tokens.hana) }),
        }
      : tts
      ? {
          replayedHeaders: async () => employeeIdentity(keys.employees.privateKey).headersFor({ audience: ids.review, txnToken: await txnTokenFor(tokens.ed) }),
          forgedHeaders: async () => employeeIdentity(newKey('attacker').privateKey).headersFor({ audience: ids.review, txnToken: await txnTokenFor(tokens.hana) }),
          expiredHeaders: async () =>
            employeeIdentity(keys.employees.privateKey, () => Date.now() - 3_600_000).headersFor({ audience: ids.review, txnToken: await txnTokenFor(tokens.hana) }),
          expiredTxnHeaders: async () => {
            const old = await tts.issuedEarlier(await txnTokenFor(tokens.hana), 3_600_000)
            // The client would refuse to forward it: the attacker binds a workload token by hand.
            return boundHeaders(keys.employees, ids.employees, ids.review, old)
          },
          splicedTxnHeaders: async () => {
            const edHeaders = await employeeIdentity(keys.employees.privateKey).headersFor({ audience: ids.review, txnToken: await txnTokenFor(tokens.ed) })
            return { ...edHeaders, 'txn-token': await txnTokenFor(tokens.hana) }
          },
          foreignTxnHeaders: async () => {
            const foreign = (await exchangeAs('gateway', partnerTts).exchange({ subjectToken: tokens.hana, scope: 'review.read' })).token
            return boundHeaders(keys.employees, ids.employees, ids.review, foreign)
          },
          widenTxnToken: async () =>
            refusal(async () => exchangeAs('employees').replace(await txnTokenFor(tokens.alice), 'review.read order.write')),
          exchangeAsOrders: () => refusal(() => exchangeAs('orders').exchange({ subjectToken: tokens.ed, scope: 'order.write' })),
          capturedHeaders: notWimse,
          bearerHeaders: notWimse,
        }
      : {
          replayedHeaders: () => employeeIdentity(keys.employees.privateKey).headersFor({ audience: ids.review, actor: tokens.ed }),
          forgedHeaders: () => employeeIdentity(newKey('attacker').privateKey).headersFor({ audience: ids.review, actor: tokens.hana }),
          expiredHeaders: () =>
            employeeIdentity(keys.employees.privateKey, () => Date.now() - 3_600_000).headersFor({ audience: ids.review, actor: tokens.hana }),
          expiredTxnHeaders: noTts,
          splicedTxnHeaders: noTts,
          foreignTxnHeaders: noTts,
          widenTxnToken: noTts,
          exchangeAsOrders: noTts,
          capturedHeaders: notWimse,
          bearerHeaders: notWimse,
        }

    /** @type {Record<keyof typeof ids, string>} */
    const shortNames = { gateway: 'gateway', employees: 'employee-service', review: 'review-service', agent: 'ai-reporting-agent', orders: 'orders', payments: 'payments' }
    const names = new Map(Object.entries(ids).map(([name, id]) => [id, shortNames[/** @type {keyof typeof ids} */ (name)]]))
    return {
      mode,
      received,
      ttsUrl: tts?.issuer,
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
