/**
 * The one contract every adapter must honour: the same routes, the same table of requests, the same
 * answers. Each driver (express.ts, fastify.ts, the Nest app in packages/nestjs/test/support) builds
 * these routes in its framework's idiom; contract.test.ts runs the table against each over real HTTP.
 */
import {
  callerContext,
  DEFAULT_ACTOR_HEADER as DEFAULT_ACTOR_HEADER_NAME,
  UnavailableError,
  type CheckResourcesRequest,
  type CheckResourcesResponse,
  type DecisionEngine,
  type GuardGrant,
  type PlanResourcesRequest,
  type PlanResourcesResponse,
  type Resource,
} from '@meshguard/core'
import type { ClaimsRequirement } from '@meshguard/core/edge'
import { fileURLToPath } from 'node:url'
import { request } from 'undici'
import { expect } from 'vitest'
import { BROKEN_WORKLOAD_TOKENS, type BrokenWorkloadToken, type IdentityFixture } from '../support/identity.js'
import type { RunningApp } from './drivers.js'

/** The service every contract app is. */
export const SERVICE = 'review-service'

/** The sample policies (the seed review policy among them). */
export const POLICY_DIR = fileURLToPath(new URL('../../examples/policies', import.meta.url))

/** Reviews the loader knows, with the department the policy compares. */
export const REVIEWS: Readonly<Record<string, string>> = { 'r-eng': 'engineering', 'r-people': 'people' }

/** A request's resource as every driver's loader computes it (the "database" lookup). */
export async function loadReview(params: Record<string, unknown>): Promise<Resource> {
  const id = String(params['id'])
  // Simulates a database round trip, so the loader is really asynchronous.
  await new Promise((resolve) => setImmediate(resolve))
  if (id === 'broken') throw new Error('database connection reset')
  return { kind: 'review', id, attr: { department: REVIEWS[id] ?? 'unknown' } }
}

/** A resource taken from the parsed JSON body (needs a hook that runs after body parsing). */
export function reviewFromBody(body: unknown): Resource {
  const { id, department } = (body ?? {}) as { id?: unknown; department?: unknown }
  return { kind: 'review', id: String(id), attr: { department: String(department) } }
}

/**
 * The real engine (embedded, or remote in test/operations), except for two resource kinds that
 * simulate engine failures: `crash` throws an unexpected error, `offline` reports the engine unavailable.
 */
export function contractEngine(engine: DecisionEngine): DecisionEngine {
  return {
    kind: engine.kind,
    get policyDigest() {
      return engine.policyDigest
    },
    checkResources(request: CheckResourcesRequest): Promise<CheckResourcesResponse> {
      const kind = request.resources[0]?.resource.kind
      if (kind === 'crash') return Promise.reject(new TypeError('engine bug: cannot read properties of undefined'))
      if (kind === 'offline') return Promise.reject(new UnavailableError('pdp_unavailable', 'PDP did not answer'))
      return engine.checkResources(request)
    },
    // List routes plan through the same engine (the test-support wrapper must not hide it).
    planResources(request: PlanResourcesRequest): Promise<PlanResourcesResponse> {
      if (engine.planResources === undefined) return Promise.reject(new TypeError('engine cannot plan'))
      return engine.planResources(request)
    },
  }
}

/** The rows a list route filters: every review the loader knows. */
export const REVIEW_ROWS: readonly { id: string; department: string }[] = Object.entries(REVIEWS).map(([id, department]) => ({ id, department }))

/** What every list handler answers: the handler body, the plan's kind, and the rows the plan keeps. */
export function listBody(grant: GuardGrant | null | undefined): Record<string, unknown> {
  const plan = grant?.plan
  return {
    ...handlerBody(grant),
    planKind: plan?.kind ?? null,
    reviews: plan ? plan.keep(REVIEW_ROWS, (row) => ({ id: row.id, attr: row })).map((row) => row.id) : null,
  }
}

/** What one adapter answered to a contract case, normalised for comparison. */
export interface ContractAnswer {
  status: number
  contentType: string | undefined
  wwwAuthenticate: string | undefined
  cacheControl: string | undefined
  body: Record<string, unknown>
}

/** Sends `testCase` to `app` over real HTTP with `headers` (a JSON body when the case has one). */
export async function sendContractCase(app: RunningApp, testCase: Pick<ContractCase, 'method' | 'path' | 'body'>, headers: [string, string][]): Promise<ContractAnswer> {
  const flat = headers.flat()
  const hasBody = testCase.body !== undefined
  if (hasBody) flat.push('content-type', 'application/json')
  const response = await request(`${app.url}${testCase.path}`, {
    method: testCase.method,
    headers: flat,
    body: hasBody ? JSON.stringify(testCase.body) : null,
  })
  const header = (name: string): string | undefined => {
    const value = response.headers[name]
    return Array.isArray(value) ? value.join(', ') : value
  }
  return {
    status: response.statusCode,
    contentType: header('content-type')?.split(';')[0],
    wwwAuthenticate: header('www-authenticate'),
    cacheControl: header('cache-control'),
    body: (await response.body.json()) as Record<string, unknown>,
  }
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/

/** What a case expects of every adapter's answer. */
export type ExpectedAnswer = Pick<ContractCase, 'status' | 'reason' | 'tokenKind' | 'answer' | 'wwwAuthenticate'>

/**
 * Every adapter gave the expected answer, and all gave the same status, headers and problem body
 * (bar the per-request decision id).
 */
export function expectContractAnswers(testCase: ExpectedAnswer, answers: Readonly<Record<string, ContractAnswer>>): void {
  for (const [name, answer] of Object.entries(answers)) {
    expect([name, answer.status], JSON.stringify(answer.body)).toEqual([name, testCase.status])
    if (testCase.status === 200) {
      expect(answer.body, name).toEqual(testCase.answer)
      continue
    }
    expect(answer.contentType, name).toBe('application/problem+json')
    expect(answer.cacheControl, name).toBe('no-store')
    expect(answer.body['reason'], name).toBe(testCase.reason)
    expect(answer.body['status'], name).toBe(testCase.status)
    expect(answer.body['decisionId'], name).toMatch(UUID)
    expect(answer.body['tokenKind'], name).toBe(testCase.tokenKind)
    const members = ['code', 'decisionId', 'detail', 'reason', 'status', 'title', ...(testCase.tokenKind ? ['tokenKind'] : []), 'type']
    expect(Object.keys(answer.body).sort(), name).toEqual(members)
    // Never a token, a stack or a policy internal in the body.
    expect(JSON.stringify(answer.body), name).not.toMatch(/eyJ|at .*\.ts|database|engine bug|resource\.review/)
    if (testCase.wwwAuthenticate !== undefined) expect(answer.wwwAuthenticate, name).toBe(testCase.wwwAuthenticate)
    else expect(answer.wwwAuthenticate !== undefined, name).toBe(testCase.status === 401)
  }
  // Identical across adapters: same status, headers and body except the per-request decision id.
  const normalised = Object.values(answers).map(({ body, ...rest }) => ({ ...rest, body: { ...body, decisionId: 'x' } }))
  for (const other of normalised.slice(1)) expect(other).toEqual(normalised[0])
}

/** What every handler answers: who called, for whom, and whether it ran inside the caller context. */
export function handlerBody(grant: GuardGrant | null | undefined): Record<string, unknown> {
  const current = callerContext.current()
  return {
    workload: grant?.caller.principal.id ?? null,
    actor: grant?.caller.actor?.id ?? null,
    policy: grant?.decision?.policy ?? null,
    inCallerContext: current !== undefined && current === grant?.caller,
  }
}

/** The routes every driver serves. */
export const ROUTES = {
  /** Loader-resolved review, actor required. */
  review: '/reviews/:id',
  /** Body-derived review (POST), actor required. */
  lookup: '/lookup',
  /** No credentials needed. */
  health: '/health',
  /** No route settings: a verified caller is enough (fail closed). */
  me: '/me',
  /** Loader-resolved review that also requires the scope `review.read`. */
  scoped: '/scoped/:id',
  /** Service-to-service only: an actor token is refused. */
  internal: '/internal/:id',
  /** List route: the plan for `read` on `review`, actor required. */
  list: '/reviews',
  /** List route whose always-denied plan is an empty list for employee-service. */
  listOrEmpty: '/all-reviews',
  /** Kind-only route whose engine throws. */
  crash: '/crash/:id',
  /** Kind-only route whose engine is unavailable. */
  offline: '/offline/:id',
  /** Loader-resolved review whose handler checks more resources itself (`req.meshguard.check`). */
  batch: '/batch/:id',
  /** Loader-resolved review that also requires {@link CLAIMED_ROUTE_CLAIMS} of the actor. */
  claimed: '/claimed/:id',
  /** Loader-resolved review that requires a recent multi-factor login ({@link STEP_UP_CLAIMS}). */
  stepUp: '/step-up/:id',
} as const

/** The claims `/claimed/:id` requires: a tenant of two, and `mfa` among the authentication methods. */
export const CLAIMED_ROUTE_CLAIMS = { tenant: ['acme', 'globex'], amr: { includes: 'mfa' } } as const satisfies ClaimsRequirement

/** The claims `/step-up/:id` requires: the MFA authentication context class, at most 300 s ago (RFC 9470). */
export const STEP_UP_CLAIMS = { acr: 'urn:example:mfa', auth_time: { maxAge: 300 } } as const satisfies ClaimsRequirement

/** The reviews every batch handler asks about, with the actions it asks. */
export const BATCH_CHECK = {
  resources: Object.entries(REVIEWS).map(([id, department]) => ({ kind: 'review', id, attr: { department } })),
  actions: ['read', 'delete'],
} as const

/**
 * What every batch handler answers: the route decision's rule and outputs, then one handler check
 * of {@link BATCH_CHECK} made through the grant, as plain JSON.
 */
export async function batchBody(grant: GuardGrant | null | undefined): Promise<Record<string, unknown>> {
  if (!grant) return { error: 'no grant' }
  // Read before the await: the context follows async work only once something enabled it.
  const inCallerContext = callerContext.current() === grant.caller
  const answer = await grant.check(BATCH_CHECK.resources, BATCH_CHECK.actions)
  return {
    route: { rule: grant.decision?.rule ?? null, outputs: grant.decision?.outputs ?? null },
    check: {
      id: answer.id,
      allowed: answer.allowed,
      engRead: answer.isAllowed('r-eng', 'read'),
      results: answer.results.map((r) => ({ id: r.resource.id, actions: r.actions, outputs: r.outputs })),
    },
    inCallerContext,
  }
}

/** One request of the table. */
export interface ContractCase {
  name: string
  method: 'GET' | 'POST'
  path: string
  /** Header lists keep duplicates: each entry is one header line. */
  headers: (ids: IdentityFixture) => Promise<[string, string][]>
  body?: unknown
  status: number
  /** The problem reason on refusals. */
  reason?: string
  /** On identity refusals: which token the problem body says the failure is about. */
  tokenKind?: 'workload' | 'actor'
  /** Expected handler answer on success. */
  answer?: Record<string, unknown>
  /** The `WWW-Authenticate` a refusal must carry, when it is not the 401 challenge. */
  wwwAuthenticate?: string
  /** Fresh credentials for each adapter (single-use proofs), from the same `headers` recipe. */
  perApp?: boolean
}

const hop = async (ids: IdentityFixture, from: string, actor?: 'alice' | 'hana' | 'ed'): Promise<[string, string][]> =>
  Object.entries(await ids.headers({ from, to: SERVICE, ...(actor ? { actor } : {}) }))

const employeeService = 'spiffe://example.org/ns/default/sa/employee-service'

/** What the handler answers when employee-service reads a review for `actor`. */
export const allowed = (actor: string): Record<string, unknown> => ({ workload: employeeService, actor, policy: 'resource.review.vdefault', inCallerContext: true })

/** `headers` with the first line named `name` sent twice. */
export const duplicated = (headers: [string, string][], name: string): [string, string][] => [...headers, headers.find(([n]) => n === name)!]

/** The table. Every adapter must give exactly these answers. */
export const CASES: readonly ContractCase[] = [
  { name: 'no token', method: 'GET', path: '/reviews/r-eng', headers: async () => [], status: 401, reason: 'token_missing', tokenKind: 'workload' },
  {
    name: 'not a bearer token',
    method: 'GET',
    path: '/reviews/r-eng',
    headers: async () => [['authorization', 'Basic dXNlcjpwYXNz']],
    status: 401,
    reason: 'auth_scheme_invalid',
    tokenKind: 'workload',
  },
  ...(Object.entries(BROKEN_WORKLOAD_TOKENS) as [BrokenWorkloadToken, string][]).map(
    ([kind, reason]): ContractCase => ({
      name: `bad workload token: ${kind}`,
      method: 'GET',
      // A route that accepts a workload alone, so the token itself is what gets judged.
      path: '/me',
      headers: async (ids) => [['authorization', `Bearer ${await ids.brokenWorkloadToken(kind, 'employee-service', SERVICE)}`]],
      status: 401,
      reason,
      tokenKind: 'workload',
    }),
  ),
  {
    name: 'JWS JSON serialization (T33)',
    method: 'GET',
    path: '/me',
    headers: async (ids) => {
      const [h, p, sig] = (await ids.mintWorkloadToken('employee-service', { audience: SERVICE })).split('.')
      return [['authorization', `Bearer ${JSON.stringify({ payload: p, signatures: [{ protected: h, signature: sig }] })}`]]
    },
    status: 401,
    reason: 'token_malformed',
    tokenKind: 'workload',
  },
  {
    name: 'roles claimed in a self-signed token (T27)',
    method: 'GET',
    path: '/reviews/r-eng',
    headers: async (ids) => {
      const actor = await ids.mintActorToken('alice')
      const workload = await ids.mintWorkloadToken('gateway', { audience: SERVICE, actorToken: actor, claims: { roles: ['employee-service'] } })
      return [['authorization', `Bearer ${workload}`], [DEFAULT_ACTOR_HEADER_NAME, actor]]
    },
    status: 403,
    reason: 'denied',
  },
  {
    name: 'expired actor token',
    method: 'GET',
    path: '/reviews/r-eng',
    headers: async (ids) => {
      const actor = await ids.mintActorToken('alice', { now: Math.floor(Date.now() / 1000) - 7200, lifetime: 900 })
      const workload = await ids.mintWorkloadToken('employee-service', { audience: SERVICE, actorToken: actor })
      return [['authorization', `Bearer ${workload}`], [DEFAULT_ACTOR_HEADER_NAME, actor]]
    },
    status: 401,
    reason: 'token_expired',
    tokenKind: 'actor',
  },
  {
    name: 'actor token swapped for another user',
    method: 'GET',
    path: '/reviews/r-eng',
    headers: async (ids) => {
      const alice = await ids.mintActorToken('alice')
      const workload = await ids.mintWorkloadToken('employee-service', { audience: SERVICE, actorToken: alice })
      return [['authorization', `Bearer ${workload}`], [DEFAULT_ACTOR_HEADER_NAME, await ids.mintActorToken('hana')]]
    },
    status: 401,
    reason: 'actor_binding_mismatch',
    tokenKind: 'actor',
  },
  {
    name: 'duplicate authorization header',
    method: 'GET',
    path: '/reviews/r-eng',
    headers: async (ids) => {
      const [auth] = await hop(ids, 'employee-service')
      return [auth!, auth!]
    },
    status: 401,
    reason: 'duplicate_header',
    tokenKind: 'workload',
  },
  {
    name: 'duplicate actor header',
    method: 'GET',
    path: '/reviews/r-eng',
    headers: async (ids) => duplicated(await hop(ids, 'employee-service', 'alice'), DEFAULT_ACTOR_HEADER_NAME),
    status: 401,
    reason: 'duplicate_header',
    tokenKind: 'actor',
  },
  {
    name: 'allowed: manager reads a review of their department',
    method: 'GET',
    path: '/reviews/r-eng',
    headers: (ids) => hop(ids, 'employee-service', 'alice'),
    status: 200,
    answer: allowed('alice'),
  },
  {
    name: 'allowed: HR reads any review',
    method: 'GET',
    path: '/reviews/r-eng',
    headers: (ids) => hop(ids, 'employee-service', 'hana'),
    status: 200,
    answer: allowed('hana'),
  },
  {
    name: 'denied: manager of another department',
    method: 'GET',
    path: '/reviews/r-people',
    headers: (ids) => hop(ids, 'employee-service', 'alice'),
    status: 403,
    reason: 'denied',
  },
  {
    name: 'denied: employee without a manager role',
    method: 'GET',
    path: '/reviews/r-eng',
    headers: (ids) => hop(ids, 'employee-service', 'ed'),
    status: 403,
    reason: 'denied',
  },
  {
    name: 'denied: a workload the policy does not trust (gateway) for a manager',
    method: 'GET',
    path: '/reviews/r-eng',
    headers: (ids) => hop(ids, 'gateway', 'alice'),
    status: 403,
    reason: 'denied',
  },
  {
    name: 'actor required',
    method: 'GET',
    path: '/reviews/r-eng',
    headers: (ids) => hop(ids, 'employee-service'),
    status: 401,
    reason: 'actor_required',
    tokenKind: 'actor',
  },
  {
    name: 'actor forbidden on a service-to-service route',
    method: 'GET',
    path: '/internal/r-eng',
    headers: (ids) => hop(ids, 'employee-service', 'alice'),
    status: 401,
    reason: 'actor_forbidden',
    tokenKind: 'actor',
  },
  {
    name: 'allowed: body-derived resource',
    method: 'POST',
    path: '/lookup',
    body: { id: 'r-x', department: 'engineering' },
    headers: (ids) => hop(ids, 'employee-service', 'alice'),
    status: 200,
    answer: allowed('alice'),
  },
  {
    name: 'denied: body-derived resource of another department',
    method: 'POST',
    path: '/lookup',
    body: { id: 'r-x', department: 'people' },
    headers: (ids) => hop(ids, 'employee-service', 'alice'),
    status: 403,
    reason: 'denied',
  },
  { name: 'public route without credentials', method: 'GET', path: '/health', headers: async () => [], status: 200, answer: { workload: null, actor: null, policy: null, inCallerContext: false } },
  { name: 'unconfigured route without credentials', method: 'GET', path: '/me', headers: async () => [], status: 401, reason: 'token_missing', tokenKind: 'workload' },
  {
    name: 'unconfigured route with a verified caller',
    method: 'GET',
    path: '/me',
    headers: (ids) => hop(ids, 'gateway'),
    status: 200,
    answer: { workload: 'spiffe://example.org/ns/default/sa/gateway', actor: null, policy: null, inCallerContext: true },
  },
  {
    name: 'loader failure fails closed',
    method: 'GET',
    path: '/reviews/broken',
    headers: (ids) => hop(ids, 'employee-service', 'alice'),
    status: 500,
    reason: 'resource_resolution_failed',
  },
  {
    name: 'list: a manager gets her department only (conditional plan)',
    method: 'GET',
    path: '/reviews',
    headers: (ids) => hop(ids, 'employee-service', 'alice'),
    status: 200,
    answer: { workload: employeeService, actor: 'alice', policy: null, inCallerContext: true, planKind: 'KIND_CONDITIONAL', reviews: ['r-eng'] },
  },
  {
    name: 'list: HR gets every review (always allowed)',
    method: 'GET',
    path: '/reviews',
    headers: (ids) => hop(ids, 'employee-service', 'hana'),
    status: 200,
    answer: { workload: employeeService, actor: 'hana', policy: null, inCallerContext: true, planKind: 'KIND_ALWAYS_ALLOWED', reviews: ['r-eng', 'r-people'] },
  },
  { name: 'list: always denied is 403', method: 'GET', path: '/reviews', headers: (ids) => hop(ids, 'employee-service', 'ed'), status: 403, reason: 'denied' },
  { name: 'list: an untrusted workload is 403', method: 'GET', path: '/reviews', headers: (ids) => hop(ids, 'gateway', 'alice'), status: 403, reason: 'denied' },
  {
    name: 'list: always denied is an empty list for emptyForRoles',
    method: 'GET',
    path: '/all-reviews',
    headers: (ids) => hop(ids, 'employee-service', 'ed'),
    status: 200,
    answer: { workload: employeeService, actor: 'ed', policy: null, inCallerContext: true, planKind: 'KIND_ALWAYS_DENIED', reviews: [] },
  },
  { name: 'list: emptyForRoles still refuses other workloads', method: 'GET', path: '/all-reviews', headers: (ids) => hop(ids, 'gateway', 'alice'), status: 403, reason: 'denied' },
  { name: 'list: no token', method: 'GET', path: '/reviews', headers: async () => [], status: 401, reason: 'token_missing', tokenKind: 'workload' },
  { name: 'list: actor required', method: 'GET', path: '/reviews', headers: (ids) => hop(ids, 'employee-service'), status: 401, reason: 'actor_required', tokenKind: 'actor' },
  { name: 'engine failure fails closed', method: 'GET', path: '/crash/c1', headers: (ids) => hop(ids, 'employee-service'), status: 500, reason: 'internal_error' },
  { name: 'engine unavailable fails closed', method: 'GET', path: '/offline/o1', headers: (ids) => hop(ids, 'employee-service'), status: 503, reason: 'pdp_unavailable' },
]
