/** Assembles a Txn-Token Service from its options. */
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { ConfigError, createTelemetry, createTrustBundle, TrustBundle } from '@meshguard/core'
import { ClientAuthenticator } from './client-auth.js'
import { Exchanger } from './exchange.js'
import { ExchangeAudit } from './exchange-audit.js'
import { createHandler } from './http.js'
import { checkEndpointUrl } from './loopback-url.js'
import { bounded } from './option-checks.js'
import type { TxnTokenServiceOptions } from './options.js'
import { SelfSignedSubjects, TxnTokenSubjects } from './own-subjects.js'
import type { TxnTokenService } from './service-api.js'
import { SigningKeyRing } from './signing-keys.js'
import { ServiceState } from './state/shared-state.js'
import { SubjectIssuers } from './subject-issuers.js'
import { JWT_BEARER_ASSERTION_TYPE, TOKEN_EXCHANGE_GRANT_TYPE, TOKEN_TYPES, TXN_TOKEN_SERVICE_PATHS } from './token-format.js'
import { createWitIssuer } from './wit/wit-issuer.js'

function keySet(list: string[] | undefined, option: string): ReadonlySet<string> | undefined {
  if (list === undefined) return undefined
  if (!Array.isArray(list) || list.some((k) => typeof k !== 'string' || k === '')) throw new ConfigError(option, 'must be a list of names')
  return new Set(list)
}

/**
 * Creates a Txn-Token Service. Options are checked once; mistakes throw `ConfigError` naming the option.
 *
 * @example
 * ```ts
 * const tts = createTxnTokenService({
 *   issuer: 'https://tts.example.org',
 *   trustDomain: 'example.org',
 *   signingKeys: [{ key: { file: '/etc/tts/key-2026-12.pem' }, kid: 'tts-2026-12' }],
 *   trust: { workloads: [{ issuer: gatewayId, keys: { jwksFile: '/etc/tts/gateway.jwks.json' } }] },
 *   subjectIssuers: [{ issuer: 'https://idp.example.org', keys: { discovery: true }, audiences: ['https://api.example.org'] }],
 *   engine: await EmbeddedEngine.fromDirectory('/etc/tts/policies'),
 * })
 * await tts.listen(8443, '0.0.0.0')
 * ```
 */
export function createTxnTokenService(options: TxnTokenServiceOptions): TxnTokenService {
  if (typeof options !== 'object' || (options as unknown) === null) throw new ConfigError('txnTokenService', 'must be an object')
  const issuerUrl = checkEndpointUrl(options.issuer, 'issuer')
  if (issuerUrl.search !== '' || issuerUrl.hash !== '') throw new ConfigError('issuer', 'must not have a query or fragment')
  const issuer = options.issuer.replace(/\/$/, '')
  if (typeof options.trustDomain !== 'string' || options.trustDomain === '') throw new ConfigError('trustDomain', 'is required')
  const { trustDomain } = options
  if (typeof options.engine !== 'object' || (options.engine as unknown) === null || typeof options.engine.checkResources !== 'function') {
    throw new ConfigError('engine', 'must be a decision engine (EmbeddedEngine or RemoteEngine)')
  }
  const { engine } = options
  const clock = options.clock ?? Date.now
  const lifetime = bounded(options.tokenLifetime, 300, 10, 3600, 'tokenLifetime')
  const clockTolerance = bounded(options.clockTolerance, 30, 0, 60, 'clockTolerance')
  const activationDelay = bounded(options.keyActivationDelay, 60, 0, 86_400, 'keyActivationDelay')
  const maxReplacements = bounded(options.maxReplacements, 10, 0, 1000, 'maxReplacements')
  const limits = options.limits ?? {}
  const maxBodyBytes = bounded(limits.maxBodyBytes, 32_768, 1024, 1_048_576, 'limits.maxBodyBytes')
  const maxTokenBytes = bounded(limits.maxTokenBytes, 8192, 256, maxBodyBytes, 'limits.maxTokenBytes')
  const maxJsonBytes = bounded(limits.maxJsonBytes, 4096, 2, maxBodyBytes, 'limits.maxJsonBytes')
  const maxScopes = bounded(limits.maxScopes, 32, 1, 256, 'limits.maxScopes')
  for (const hook of ['lookupUser', 'isRevoked'] as const) {
    if (options[hook] !== undefined && typeof options[hook] !== 'function') throw new ConfigError(hook, 'must be a function')
  }

  const tokenEndpoint = `${issuer}${TXN_TOKEN_SERVICE_PATHS.token}`
  const jwksUri = `${issuer}${TXN_TOKEN_SERVICE_PATHS.jwks}`
  const trust = options.trust instanceof TrustBundle ? options.trust : createTrustBundle(options.trust)
  const keys = new SigningKeyRing(options.signingKeys, {
    clock,
    retainMs: (lifetime + clockTolerance) * 1000,
    activationDelayMs: activationDelay * 1000,
  })
  const state = new ServiceState(options.sharedState, { issuer, trustDomain })
  const clients = new ClientAuthenticator({ trust, tokenEndpoint, clockTolerance, maxTokenBytes, clock, state, kind: 'client_assertion' })
  const telemetry = options.telemetry ?? createTelemetry()
  const auditTarget = { service: issuer, telemetry, log: options.audit, engineKind: engine.kind, policyDigest: () => engine.policyDigest }
  const audit = new ExchangeAudit(auditTarget)
  const wit =
    options.wit === undefined
      ? undefined
      : createWitIssuer(options.wit, {
          issuer,
          trustDomain,
          engine,
          clockTolerance,
          keyActivationDelay: activationDelay,
          maxTokenBytes,
          audit: auditTarget,
          state,
          clock,
        })
  const exchanger = new Exchanger({
    issuer,
    trustDomain,
    lifetime,
    maxReplacements,
    rules: {
      trustDomain,
      maxTokenBytes,
      maxJsonBytes,
      maxScopes,
      detailKeys: keySet(options.detailKeys, 'detailKeys'),
      contextKeys: keySet(options.contextKeys, 'contextKeys'),
    },
    clients,
    subjectIssuers: new SubjectIssuers(options.subjectIssuers, clockTolerance, clock),
    selfSigned: new SelfSignedSubjects(trust, issuer, clockTolerance, maxTokenBytes, clock),
    txnTokens: new TxnTokenSubjects(keys, issuer, trustDomain, clockTolerance, clock),
    keys,
    engine,
    lookupUser: options.lookupUser,
    isRevoked: options.isRevoked,
    audit,
    state,
    clock,
  })
  const metadata = Object.freeze({
    issuer,
    token_endpoint: tokenEndpoint,
    jwks_uri: jwksUri,
    grant_types_supported: [TOKEN_EXCHANGE_GRANT_TYPE],
    token_endpoint_auth_methods_supported: ['private_key_jwt'],
    token_endpoint_auth_signing_alg_values_supported: ['EdDSA', 'ES256', 'ES384', 'PS256', 'RS256'],
    client_assertion_types_supported: [JWT_BEARER_ASSERTION_TYPE],
    requested_token_types_supported: [TOKEN_TYPES.txnToken],
    subject_token_types_supported: [TOKEN_TYPES.accessToken, TOKEN_TYPES.jwt, TOKEN_TYPES.idToken, TOKEN_TYPES.selfSigned, TOKEN_TYPES.txnToken],
    ...(wit === undefined ? {} : { wit_endpoint: wit.issuer.endpoint, wit_jwks_uri: wit.issuer.jwksUri }),
  })
  const handler = createHandler({
    maxBodyBytes,
    // Receivers may cache the JWKS for at most half the activation delay, so a new key reaches them before it signs.
    jwksMaxAge: Math.min(300, Math.floor(activationDelay / 2)),
    metadata,
    jwks: () => keys.jwks(),
    exchange: (params, client) => exchanger.exchange(params, client),
    refusedEarly: (error) => exchanger.refusedEarly(error),
    wit:
      wit === undefined
        ? undefined
        : {
            jwksMaxAge: wit.jwksMaxAge,
            issue: (body) => wit.issuer.issue(body),
            jwks: () => wit.issuer.jwks(),
            refusedEarly: (error) => wit.refusedEarly(error),
          },
  })

  let server: Server | undefined
  return {
    issuer,
    trustDomain,
    tokenEndpoint,
    jwksUri,
    wit: wit?.issuer,
    handler,
    exchange: (params, client) => exchanger.exchange(params, client),
    jwks: () => keys.jwks(),
    rotateKey: (key) => keys.rotate(key),
    listen(port = 0, host = '127.0.0.1') {
      if (server !== undefined) return Promise.reject(new ConfigError('listen', 'the service is already listening'))
      const listening = createServer(handler)
      server = listening
      return new Promise<string>((resolve, reject) => {
        listening.once('error', reject)
        listening.listen(port, host, () => {
          const address = listening.address() as AddressInfo
          resolve(`http://${address.family === 'IPv6' ? `[${address.address}]` : address.address}:${address.port}`)
        })
      })
    },
    close() {
      const listening = server
      server = undefined
      if (listening === undefined) return Promise.resolve()
      return new Promise<void>((resolve, reject) => {
        listening.closeAllConnections()
        listening.close((err) => (err ? reject(err) : resolve()))
      })
    },
  }
}
