/**
 * A Txn-Token Service on loopback for tests: the shipped issuance policy in the embedded engine,
 * the identity fixture's workloads as requesters, its user issuer as the subject-token issuer, and
 * an audit log whose records the test can read.
 */
import { generateKeyPairSync } from 'node:crypto'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { fileURLToPath } from 'node:url'
import { createAuditLog, EmbeddedEngine, functionSink, type AuditLog, type AuditRecord } from '@meshguard/core'
import {
  createTxnTokenService,
  JWT_BEARER_ASSERTION_TYPE,
  TOKEN_EXCHANGE_GRANT_TYPE,
  TOKEN_TYPES,
  type SubjectIssuerOptions,
  type TxnTokenService,
  type TxnTokenServiceOptions,
} from '../../src/index.js'
import { ACTOR_AUDIENCE, createIdentityFixture, serviceId, TRUST_DOMAIN, USER_ISSUER, type IdentityFixture } from '../../../../test/support/identity.js'

/** The shipped example issuance policy. */
export const POLICY_DIR = fileURLToPath(new URL('../../policy', import.meta.url))

/** Fixture services: the edge, inner services, a job, and a workload the policy knows nothing about. */
export const TTS_SERVICES = ['gateway', 'employee-service', 'review-service', 'report-job', 'orders']

/** A running service and what tests need around it. */
export interface TtsFixture {
  ids: IdentityFixture
  service: TxnTokenService
  url: string
  records: AuditRecord[]
  audit: AuditLog
  /** A fresh client assertion of `from` for the token endpoint. */
  assertion(from: string, overrides?: { audience?: string; claims?: Record<string, unknown> }): Promise<string>
  /** A user's access token from the fixture IdP with `scope`. */
  userToken(user: 'alice' | 'hana' | 'ed', scope?: string, claims?: Record<string, unknown>): Promise<string>
  /** A complete exchange form from `from` for `subjectToken`; entries of `overrides` set to undefined are left out. */
  form(from: string, subjectToken: string, overrides?: Record<string, string | undefined>): Promise<Record<string, string>>
  /** POSTs a form to the token endpoint. */
  post(form: Record<string, string> | string, headers?: Record<string, string>): Promise<{ status: number; body: Record<string, unknown> }>
  close(): Promise<void>
}

/**
 * Starts a service on 127.0.0.1; `overrides` replace options (the engine, hooks, limits, ...) and
 * `issuer` options of the fixture's subject issuer.
 */
export async function startTts(overrides: Partial<TxnTokenServiceOptions> = {}, issuer: Partial<SubjectIssuerOptions> = {}): Promise<TtsFixture> {
  const ids = await createIdentityFixture({ services: TTS_SERVICES })
  const records: AuditRecord[] = []
  const audit = createAuditLog({ sinks: [functionSink((record) => void records.push(record))], flushIntervalMs: 0 })
  const engine = await EmbeddedEngine.fromDirectory(POLICY_DIR)
  // The issuer URL holds the port: bind first, build the service after.
  const routes: { handler?: (req: IncomingMessage, res: ServerResponse) => void } = {}
  const server: Server = createServer((req, res) => routes.handler?.(req, res))
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  const trust = ids.trust()
  const service = createTxnTokenService({
    issuer: url,
    trustDomain: TRUST_DOMAIN,
    signingKeys: [{ key: generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey, kid: 'tts-1' }],
    // The job's role comes from this trust configuration (the authority), never from its token.
    trust: { workloads: trust.workloads.map((anchor) => (anchor.issuer === serviceId('report-job') ? { ...anchor, roles: ['job'] } : anchor)) },
    subjectIssuers: [
      {
        issuer: USER_ISSUER,
        keys: { jwks: { keys: [ids.userIssuer.publicJwk] } },
        audiences: [ACTOR_AUDIENCE],
        user: { rolesClaim: 'roles', attributeClaims: ['department'] },
        ...issuer,
      },
    ],
    engine,
    audit,
    ...overrides,
  })
  routes.handler = service.handler

  const assertion: TtsFixture['assertion'] = (from, o = {}) =>
    ids.mintWorkloadToken(from, { audience: o.audience ?? service.tokenEndpoint, ...(o.claims ? { claims: o.claims } : {}) })
  const userToken: TtsFixture['userToken'] = (user, scope = 'review.read review.write', claims = {}) =>
    ids.mintActorToken(user, { claims: { scope, ...claims } })
  const form: TtsFixture['form'] = async (from, subjectToken, o = {}) => {
    const base: Record<string, string | undefined> = {
      grant_type: TOKEN_EXCHANGE_GRANT_TYPE,
      requested_token_type: TOKEN_TYPES.txnToken,
      audience: TRUST_DOMAIN,
      scope: 'review.read',
      subject_token: subjectToken,
      subject_token_type: TOKEN_TYPES.accessToken,
      client_assertion_type: JWT_BEARER_ASSERTION_TYPE,
      client_assertion: await assertion(from),
      ...o,
    }
    return Object.fromEntries(Object.entries(base).filter((e): e is [string, string] => e[1] !== undefined))
  }
  const post: TtsFixture['post'] = async (body, headers = {}) => {
    const response = await fetch(service.tokenEndpoint, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
      body: typeof body === 'string' ? body : new URLSearchParams(body).toString(),
    })
    return { status: response.status, body: (await response.json()) as Record<string, unknown> }
  }
  return {
    ids,
    service,
    url,
    records,
    audit,
    assertion,
    userToken,
    form,
    post,
    close: async () => {
      await audit.close()
      await new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      })
    },
  }
}

/** The claims of a compact JWS, unverified (tests check what was issued). */
export function claimsOf(token: unknown): Record<string, unknown> {
  return JSON.parse(Buffer.from(String(token).split('.')[1] ?? '', 'base64url').toString('utf8')) as Record<string, unknown>
}

/** The protected header of a compact JWS. */
export function headerOf(token: unknown): Record<string, unknown> {
  return JSON.parse(Buffer.from(String(token).split('.')[0] ?? '', 'base64url').toString('utf8')) as Record<string, unknown>
}
