/**
 * The adapters' contract table over real HTTP (Express and Fastify), with decisions made by a real
 * Cerbos PDP through the remote engine. Identity is still verified locally; only the verified
 * principal travels to the PDP. Then the PDP is made slow (SIGSTOP) and killed: both fail closed with
 * 503 and a reason code (`pdp_timeout`, `pdp_unavailable`), audited under the problem's decision id.
 */
import { request } from 'undici'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  RemoteEngine,
  UnavailableError,
  createAuditLog,
  createGuard,
  createIdentityVerifier,
  functionSink,
  type AuditLog,
  type AuditRecord,
  type CheckResourcesRequest,
  type CheckResourcesResponse,
  type DecisionEngine,
} from '@meshguard/core'
import { CASES, POLICY_DIR, SERVICE, type ContractCase } from '../adapters/contract.js'
import type { RunningApp } from '../adapters/drivers.js'
import { startExpressApp } from '../adapters/express-app.js'
import { startFastifyApp } from '../adapters/fastify-app.js'
import { startCerbosPdp, type CerbosPdp } from '../support/cerbos-pdp.js'
import { createIdentityFixture, type IdentityFixture } from '../support/identity.js'

/** The contract's two simulated engine failures (`crash`, `offline` kinds), in front of the remote engine. */
function withSimulatedFailures(engine: DecisionEngine): DecisionEngine {
  return {
    kind: engine.kind,
    policyDigest: engine.policyDigest,
    checkResources(req: CheckResourcesRequest): Promise<CheckResourcesResponse> {
      const kind = req.resources[0]?.resource.kind
      if (kind === 'crash') return Promise.reject(new TypeError('engine bug'))
      if (kind === 'offline') return Promise.reject(new UnavailableError('pdp_unavailable', 'PDP did not answer'))
      return engine.checkResources(req)
    },
  }
}

let pdp: CerbosPdp | undefined
let remote: RemoteEngine | undefined
let ids: IdentityFixture
let audit: AuditLog | undefined
const records: AuditRecord[] = []
const apps = new Map<string, RunningApp>()

beforeAll(async () => {
  pdp = await startCerbosPdp({ policyDir: POLICY_DIR })
  // Generous for a loaded CI machine; the slow-PDP case below waits this long once.
  remote = new RemoteEngine({ address: pdp.grpcAddress, timeoutMs: 5000 }) // generous: CI machines are shared and slow
  // Open the gRPC channel up front, so connection set-up never counts against a test's deadline.
  const warmUp = { principal: { id: 'warm-up', roles: ['none'] }, resources: [{ resource: { kind: 'review', id: 'x' }, actions: ['read'] }] }
  for (let attempt = 0; attempt < 10; attempt++) {
    const ready = await remote.checkResources(warmUp).then(() => true, () => false)
    if (ready) break
  }
  ids = await createIdentityFixture()
  audit = createAuditLog({ sinks: [functionSink((record) => void records.push(record))] })
  const guard = createGuard({
    engine: withSimulatedFailures(remote),
    identity: createIdentityVerifier(ids.verifierOptions(SERVICE)),
    service: SERVICE,
    audit,
  })
  apps.set('express', await startExpressApp(guard))
  apps.set('fastify', await startFastifyApp(guard))
})

afterAll(async () => {
  await Promise.all([...apps.values()].map((app) => app.close()))
  await remote?.close()
  if (pdp) {
    try {
      process.kill(-pdp.pid, 'SIGCONT')
    } catch {
      // Already stopped.
    }
    await pdp.stop()
  }
  await audit?.close()
})

async function send(app: RunningApp, testCase: ContractCase, headers: [string, string][]) {
  const flat = headers.flat()
  const hasBody = testCase.body !== undefined
  if (hasBody) flat.push('content-type', 'application/json')
  const response = await request(`${app.url}${testCase.path}`, {
    method: testCase.method,
    headers: flat,
    body: hasBody ? JSON.stringify(testCase.body) : null,
  })
  return { status: response.statusCode, body: (await response.body.json()) as Record<string, unknown> }
}

const allowedCase = CASES.find((c) => c.name.startsWith('allowed: manager reads'))!

describe('adapter contract with decisions from a real Cerbos PDP', () => {
  it.each(CASES.map((c) => [c.name, c] as const))('%s', async (_name, testCase) => {
    const headers = await testCase.headers(ids)
    for (const [name, app] of apps) {
      const answer = await send(app, testCase, headers)
      expect([name, answer.status], JSON.stringify(answer.body)).toEqual([name, testCase.status])
      if (testCase.status === 200) expect(answer.body, name).toEqual(testCase.answer)
      else expect(answer.body['reason'], name).toBe(testCase.reason)
    }
  })

  it('a PDP that stops answering fails closed with 503 pdp_timeout, and recovers', async () => {
    const headers = await allowedCase.headers(ids)
    const app = apps.get('express')!
    process.kill(-pdp!.pid, 'SIGSTOP')
    let slow: Awaited<ReturnType<typeof send>>
    try {
      slow = await send(app, allowedCase, headers)
    } finally {
      process.kill(-pdp!.pid, 'SIGCONT')
    }
    expect(slow.status).toBe(503)
    expect(slow.body['reason']).toBe('pdp_timeout')
    expect((await send(app, allowedCase, headers)).status).toBe(200)
    await audit!.flush()
    expect(records.find((r) => r.callId === slow.body['decisionId'])).toMatchObject({
      outcome: 'error',
      reason: 'pdp_timeout',
      errorCode: 'ERR_AUTHZ_UNAVAILABLE',
      engine: 'remote',
    })
  })

  it('a PDP that is gone fails closed with 503 pdp_unavailable on every adapter', async () => {
    await pdp!.stop()
    const headers = await allowedCase.headers(ids)
    for (const [name, app] of apps) {
      const answer = await send(app, allowedCase, headers)
      expect([name, answer.status, answer.body['reason']]).toEqual([name, 503, 'pdp_unavailable'])
    }
  })
})
