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
  TXN_TOKEN_SERVICE_PATHS,
  type SubjectIssuerOptions,
  type TxnTokenService,
  type TxnTokenServiceOptions,
} from '../../src/index.js'
import { ACTOR_AUDIENCE, createIdentityFixture, serviceId, TRUST_DOMAIN, USER_ISSUER, type IdentityFixture } from '../../../../test/support/identity.js'

const FORM = 'application/x-www-form-urlencoded'

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
  /**
   * Another replica of this service, as behind one load balancer: the same options (issuer, keys,
   * trust, engine, `sharedState`, ...) but its own server, port and audit log; `overrides` replace options.
   */
  replica(overrides?: Partial<TxnTokenServiceOptions>): Promise<TtsReplica>
  close(): Promise<void>
}

/** A second replica of a fixture's service. */
export interface TtsReplica {
  service: TxnTokenService
  /** Where this replica listens (the issuer stays the first replica's URL). */
  url: string
  records: AuditRecord[]
  audit: AuditLog
  /** POSTs a form to this replica's token endpoint. */
  post(form: Record<string, string>, headers?: Record<string, string>): Promise<{ status: number; body: Record<string, unknown> }>
  /** POSTs a JSON body to `path` of this replica. */
  postJson(path: string, body: unknown): Promise<{ status: number; body: Record<string, unknown> }>
  close(): Promise<void>
}

/** POSTs `body` with `contentType` and reads the JSON answer. */
async function postTo(url: string, contentType: string, body: string, headers: Record<string, string> = {}): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(url, { method: 'POST', headers: { 'content-type': contentType, ...headers }, body })
  return { status: response.status, body: (await response.json()) as Record<string, unknown> }
}

/** An audit log whose records the test reads. */
function recordedAudit(): { records: AuditRecord[]; audit: AuditLog } {
  const records: AuditRecord[] = []
  return { records, audit: createAuditLog({ sinks: [functionSink((record) => void records.push(record))], flushIntervalMs: 0 }) }
}

/**
 * Starts a service on 127.0.0.1; `overrides` replace options (the engine, hooks, limits, ...) and
 * `issuer` options of the fixture's subject issuer.
 */
export async function startTts(overrides: Partial<TxnTokenServiceOptions> = {}, issuer: Partial<SubjectIssuerOptions> = {}): Promise<TtsFixture> {
  const ids = await createIdentityFixture({ services: TTS_SERVICES })
  const { records, audit } = recordedAudit()
  const engine = await EmbeddedEngine.fromDirectory(POLICY_DIR)
  // The issuer URL holds the port: bind first, build the service after.
  const routes: { handler?: (req: IncomingMessage, res: ServerResponse) => void } = {}
  const server: Server = createServer((req, res) => routes.handler?.(req, res))
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  const trust = ids.trust()
  if (trust.workloads === undefined) throw new Error('the identity fixture trusts its workloads')
  const options: TxnTokenServiceOptions = {
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
  }
  const service = createTxnTokenService(options)
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
  const post: TtsFixture['post'] = (body, headers = {}) =>
    postTo(service.tokenEndpoint, FORM, typeof body === 'string' ? body : new URLSearchParams(body).toString(), headers)
  const replica: TtsFixture['replica'] = async (replicaOverrides = {}) => {
    const own = recordedAudit()
    const copy = createTxnTokenService({ ...options, audit: own.audit, ...replicaOverrides })
    const at = await copy.listen(0, '127.0.0.1')
    return {
      service: copy,
      url: at,
      ...own,
      post: (body, headers = {}) => postTo(`${at}${TXN_TOKEN_SERVICE_PATHS.token}`, FORM, new URLSearchParams(body).toString(), headers),
      postJson: (path, body) => postTo(`${at}${path}`, 'application/json', JSON.stringify(body)),
      close: async () => {
        await copy.close()
        await own.audit.close()
      },
    }
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
    replica,
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
