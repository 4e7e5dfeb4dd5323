/**
 * Txn-Tokens over real HTTP on loopback, through the real adapters and client: the gateway verifies
 * the user's access token and exchanges it at a Txn-Token Service for the route's purpose; only the
 * Txn-Token goes inward, bound to a per-callee workload token at every hop; a hop can ask for a
 * narrower replacement. Every request an inner service receives is recorded, to prove the access
 * token never got there.
 */
import express, { type Request } from 'express'
import type { Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { callerContext, createGuard, EmbeddedEngine, type Guard } from '@meshguard/core'
import { createTxnTokenExchange, type TxnTokenExchange } from '@meshguard/core/txn-tokens'
import { authenticate, authorize, authorizeList } from '@meshguard/express'
import { createMeshguardFetch, withTxnScope } from '@meshguard/client'
// From source like the fixture's verifier options (vitest resolves @meshguard/core to the same source).
import { createIdentityVerifier } from '../../packages/core/src/identity/index.js'
import { createIdentityFixture, serviceId, type IdentityFixture } from '../support/identity.js'
import { startStubTts, type StubTts } from '../support/stub-tts.js'
import { POLICY_DIR } from '../adapters/contract.js'

interface Recorded {
  service: string
  headers: Record<string, string | string[] | undefined>
}

async function listen(app: express.Express): Promise<{ url: string; server: Server }> {
  const server = await new Promise<Server>((resolve) => {
    const s: Server = app.listen(0, '127.0.0.1', () => resolve(s))
  })
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server }
}

describe('Txn-Tokens end to end over HTTP', () => {
  let ids: IdentityFixture
  let tts: StubTts
  let gatewayUrl: string
  const servers: Server[] = []
  const recorded: Recorded[] = []
  const fetches: { close(): Promise<void> }[] = []

  const exchangeFor = (name: string, timeoutMs = 1000): TxnTokenExchange => {
    const service = ids.services[name]!
    return createTxnTokenExchange({ tokenEndpoint: tts.tokenEndpoint, trustDomain: tts.trustDomain, clientId: service.id, key: service.privateKey, kid: service.kid, timeoutMs })
  }
  const innerGuard = async (name: string): Promise<Guard> =>
    createGuard({
      engine: await EmbeddedEngine.fromDirectory(POLICY_DIR),
      // Txn-Token mode only: no access-token issuer is trusted on inner hops.
      identity: createIdentityVerifier(ids.verifierOptions(name, { trust: { workloads: ids.trust().workloads, txnTokens: { trustDomain: tts.trustDomain, keys: { jwksUrl: tts.jwksUri } } } })),
      service: name,
    })
  const record = (service: string) => (req: Request, _res: unknown, next: () => void) => {
    recorded.push({ service, headers: { ...req.headers } })
    next()
  }

  beforeAll(async () => {
    ids = await createIdentityFixture({ services: ['gateway', 'employee-service', 'review-service'] })
    tts = await startStubTts(ids)

    // review-service: the policy decides, and the route requires the purpose review.read.
    const review = express()
    review.use(record('review-service'))
    review.get(
      '/reviews/:id',
      authorize(await innerGuard('review-service'), {
        resource: (req) => ({ kind: 'review', id: String(req.params['id']), attr: { department: req.params['id'] === 'r-eng' ? 'engineering' : 'people' } }),
        action: 'read',
        actor: 'required',
        scope: 'review.read',
      }),
      (req, res) => {
        const caller = req.meshguard!.caller
        res.json({ user: caller.actor?.id, txn: caller.transactionId, scope: caller.txn?.scope, reqWl: caller.txn?.requestingWorkload })
      },
    )
    const reviewApp = await listen(review)

    // employee-service: needs review.read; forwards its Txn-Token, or a narrower replacement.
    const employeeIdentity = ids.workloadIdentity('employee-service')
    const employeeFetch = createMeshguardFetch({ identity: employeeIdentity, destinations: { [reviewApp.url]: serviceId('review-service') }, onUnmapped: 'refuse' })
    fetches.push(employeeFetch)
    const employeeTts = exchangeFor('employee-service')
    const employee = express()
    employee.use(record('employee-service'))
    employee.use(authenticate(await innerGuard('employee-service'), { actor: 'required', scope: 'review.read' }))
    const relay = async (res: express.Response, call: () => Promise<{ status: number; json(): Promise<unknown> }>) => {
      try {
        const answer = await call()
        res.status(answer.status).json(await answer.json())
      } catch (err) {
        const e = err as { httpStatus?: number; reason?: string }
        res.status(e.httpStatus ?? 500).json({ reason: e.reason ?? 'internal' })
      }
    }
    employee.get('/reviews/:id', (req, res) => void relay(res, () => employeeFetch(`${reviewApp.url}/reviews/${req.params['id']}`)))
    employee.get('/narrow/:id', (req, res) =>
      void relay(res, () => withTxnScope(employeeTts, 'review.read', () => employeeFetch(`${reviewApp.url}/reviews/${req.params['id']}`))),
    )
    employee.get('/widen/:id', (req, res) =>
      void relay(res, () => withTxnScope(employeeTts, 'review.read admin.write', () => employeeFetch(`${reviewApp.url}/reviews/${req.params['id']}`))),
    )
    const employeeApp = await listen(employee)

    // gateway: the edge. Access tokens in, Txn-Tokens out.
    const gatewayGuard = createGuard({
      engine: await EmbeddedEngine.fromDirectory(POLICY_DIR),
      service: 'gateway',
      edge: {
        trust: { workloads: [], actors: ids.trust().actors },
        origin: (view) => `http://${String(view.headers['host'])}`,
        txnTokens: exchangeFor('gateway', 500),
        requestContext: () => ({ transport: 'http' }),
        requestDetails: (view) => ({ review: view.params['id'] }),
      },
    })
    const gatewayFetch = createMeshguardFetch({
      identity: ids.workloadIdentity('gateway'),
      destinations: { [employeeApp.url]: serviceId('employee-service') },
      onUnmapped: 'refuse',
    })
    fetches.push(gatewayFetch)
    const gateway = express()
    for (const [path, scope] of [['/reviews/:id', 'review.read'], ['/admin/:id', 'admin.write']] as const) {
      gateway.get(path, authenticate(gatewayGuard, { actor: 'required', scope }), (req, res) => {
        const via = req.query['via']
        const target = typeof via === 'string' ? via : 'reviews'
        void relay(res, () => gatewayFetch(`${employeeApp.url}/${target}/${String(req.params['id'])}`))
      })
    }
    // A policy route at the edge (authorize, not authenticate): the purpose is exchanged for before
    // the policy runs. Its own engine lets employees read, so only the exchange can stop the request.
    const edgePolicy = 'apiVersion: api.cerbos.dev/v1\nresourcePolicy:\n  version: default\n  resource: edge_review\n  rules:\n    - actions: [read]\n      effect: EFFECT_ALLOW\n      roles: [employee]\n'
    const decidingGuard = createGuard({
      engine: EmbeddedEngine.fromSources([{ file: 'edge_review.yaml', text: edgePolicy }]),
      service: 'gateway',
      edge: { trust: { workloads: [], actors: ids.trust().actors }, origin: (view) => `http://${String(view.headers['host'])}`, txnTokens: exchangeFor('gateway', 500) },
    })
    gateway.get(
      '/decided/:id',
      authorize(decidingGuard, { resource: (req) => ({ kind: 'edge_review', id: String(req.params['id']) }), action: 'read', actor: 'required', scope: 'review.read' }),
      (req, res) => void relay(res, () => gatewayFetch(`${employeeApp.url}/reviews/${String(req.params['id'])}`)),
    )
    // A list route at the edge: the purpose is exchanged for before the plan, so the handler's
    // inward calls carry the Txn-Token.
    for (const [path, scope] of [['/listed', 'review.read'], ['/listed-admin', 'admin.write']] as const) {
      gateway.get(path, authorizeList(decidingGuard, { resource: 'edge_review', action: 'read', actor: 'required', scope }), (req, res) => {
        const plan = req.meshguard?.plan?.kind
        void relay(res, async () => {
          const inner = await gatewayFetch(`${employeeApp.url}/reviews/r-eng`)
          return new Response(JSON.stringify({ plan, inner: await inner.json() }), { status: inner.status, headers: { 'content-type': 'application/json' } })
        })
      })
    }
    gatewayUrl = (await listen(gateway)).url
    servers.push(...[reviewApp, employeeApp].map((a) => a.server))
  })

  afterAll(async () => {
    await Promise.all(fetches.map((f) => f.close()))
    await Promise.all(servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))))
    await tts.close()
  })

  beforeEach(() => {
    tts.mode = 'normal'
    recorded.length = 0
  })

  const asUser = async (path: string, user: 'alice' | 'hana' | 'ed' = 'alice') => {
    const accessToken = await ids.mintActorToken(user)
    const res = await fetch(`${gatewayUrl}${path}`, { headers: { authorization: `Bearer ${accessToken}` } })
    return { status: res.status, body: (await res.json()) as Record<string, unknown>, accessToken, www: res.headers.get('www-authenticate') }
  }

  it('exchanges at the edge and carries only the Txn-Token inward, bound at every hop', async () => {
    const { status, body, accessToken } = await asUser('/reviews/r-eng')
    expect(status, JSON.stringify(body)).toBe(200)
    expect(body['user']).toBe('alice')
    expect(body['scope']).toEqual(['review.read'])
    expect(body['reqWl']).toBe(serviceId('gateway'))
    expect(recorded.map((r) => r.service)).toEqual(['employee-service', 'review-service'])
    for (const { headers } of recorded) {
      expect(JSON.stringify(headers)).not.toContain(accessToken)
      expect(headers['x-meshguard-actor']).toBeUndefined()
      expect(typeof headers['txn-token']).toBe('string')
      expect(headers['x-meshguard-txn']).toBe(body['txn'])
    }
    // One Txn-Token, forwarded unchanged; a workload token minted per callee.
    expect(recorded[0]!.headers['txn-token']).toBe(recorded[1]!.headers['txn-token'])
    expect(recorded[0]!.headers['authorization']).not.toBe(recorded[1]!.headers['authorization'])
    const exchange = tts.requests.at(-1)!
    expect(exchange['scope']).toBe('review.read')
    expect(exchange['subject_token']).toBe(accessToken)
    expect(JSON.parse(exchange['request_details']!)).toEqual({ review: 'r-eng' })
  })

  it('lets the policy decide on the user the Txn-Token carries', async () => {
    expect((await asUser('/reviews/r-people')).status).toBe(403)
    expect((await asUser('/reviews/r-people', 'hana')).status).toBe(200)
  })

  it('answers 403 txn_token_denied when the TTS refuses the purpose, and sends nothing inward', async () => {
    const { status, body } = await asUser('/admin/r-eng')
    expect(status).toBe(403)
    expect(body['reason']).toBe('txn_token_denied')
    expect(recorded).toEqual([])
  })

  it('answers 503 when the TTS is down or does not answer in time, never forwarding the access token', async () => {
    for (const mode of ['down', 'hang'] as const) {
      tts.mode = mode
      const { status, body } = await asUser('/reviews/r-eng')
      expect([mode, status, body['reason']]).toEqual([mode, 503, 'txn_token_service_unavailable'])
    }
    expect(recorded).toEqual([])
  })

  it('answers 503 on a policy route too when the TTS fails: the route never runs on the access token', async () => {
    tts.mode = 'normal'
    const served = await asUser('/decided/r-eng')
    expect([served.status, tts.requests.at(-1)?.['scope']]).toEqual([200, 'review.read'])
    expect(recorded.map((r) => r.service)).toEqual(['employee-service', 'review-service'])
    recorded.length = 0
    for (const mode of ['down', 'hang'] as const) {
      tts.mode = mode
      const { status, body } = await asUser('/decided/r-eng')
      expect([mode, status, body['reason']]).toEqual([mode, 503, 'txn_token_service_unavailable'])
    }
    expect(recorded).toEqual([])
  })

  it('exchanges on a list route at the edge before planning, and carries only the Txn-Token inward', async () => {
    const { status, body, accessToken } = await asUser('/listed')
    expect(status, JSON.stringify(body)).toBe(200)
    expect(body['plan']).toBe('KIND_ALWAYS_ALLOWED')
    expect(body['inner']).toMatchObject({ user: 'alice', scope: ['review.read'] })
    expect(tts.requests.at(-1)?.['scope']).toBe('review.read')
    expect(recorded.map((r) => r.service)).toEqual(['employee-service', 'review-service'])
    for (const { headers } of recorded) {
      expect(JSON.stringify(headers)).not.toContain(accessToken)
      expect(typeof headers['txn-token']).toBe('string')
    }
  })

  it('refuses a list route at the edge when the TTS refuses the purpose or fails, and sends nothing inward', async () => {
    const denied = await asUser('/listed-admin')
    expect([denied.status, denied.body['reason']]).toEqual([403, 'txn_token_denied'])
    for (const mode of ['down', 'hang'] as const) {
      tts.mode = mode
      const { status, body } = await asUser('/listed')
      expect([mode, status, body['reason']]).toEqual([mode, 503, 'txn_token_service_unavailable'])
    }
    expect(recorded).toEqual([])
  })

  it('refuses a request without an access token at the edge', async () => {
    const res = await fetch(`${gatewayUrl}/reviews/r-eng`)
    expect(res.status).toBe(401)
    expect(recorded).toEqual([])
  })

  it('lets a hop narrow the scope for a downstream call, with the same transaction', async () => {
    const { status, body } = await asUser('/reviews/r-eng?via=narrow')
    expect(status).toBe(200)
    expect(body['scope']).toEqual(['review.read'])
    const [atEmployee, atReview] = recorded
    expect(atReview!.headers['txn-token']).not.toBe(atEmployee!.headers['txn-token'])
    expect(atReview!.headers['x-meshguard-txn']).toBe(atEmployee!.headers['x-meshguard-txn'])
    expect(tts.requests.at(-1)!['subject_token_type']).toBe('urn:ietf:params:oauth:token-type:txn_token')
  })

  it('refuses a replacement that widens the scope', async () => {
    const { status, body } = await asUser('/reviews/r-eng?via=widen')
    expect(status).toBe(403)
    expect(body['reason']).toBe('txn_token_denied')
    expect(recorded.map((r) => r.service)).toEqual(['employee-service'])
  })

  it('answers 403 insufficient_scope with the RFC 6750 challenge at an inner hop', async () => {
    // A Txn-Token for another purpose reaches employee-service, which requires review.read.
    const gateway = ids.services['gateway']!
    const exchange = createTxnTokenExchange({ tokenEndpoint: tts.tokenEndpoint, trustDomain: tts.trustDomain, clientId: gateway.id, key: gateway.privateKey, kid: gateway.kid })
    const issued = await exchange.exchange({ subjectToken: await ids.mintActorToken('alice'), scope: 'profile.read' })
    const headers = await ids.workloadIdentity('gateway').headersFor({ audience: serviceId('employee-service'), txnToken: issued.token })
    const employee = recordedUrlOf(servers[1]!)
    const res = await fetch(`${employee}/reviews/r-eng`, { headers })
    expect(res.status).toBe(403)
    expect(((await res.json()) as Record<string, unknown>)['reason']).toBe('insufficient_scope')
    expect(res.headers.get('www-authenticate')).toBe('Bearer realm="employee-service", error="insufficient_scope", scope="review.read"')
  })

  it('runs handlers at the edge with the Txn-Token, so no access token can be forwarded', async () => {
    expect(callerContext.mode()).toBe('none')
    const { status } = await asUser('/reviews/r-eng')
    expect(status).toBe(200)
    expect(recorded.every((r) => r.headers['x-meshguard-actor'] === undefined)).toBe(true)
  })
})

function recordedUrlOf(server: Server): string {
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`
}
