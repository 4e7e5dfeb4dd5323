/**
 * The adapters' contract table over real HTTP (Express and Fastify), with decisions made by a real
 * Cerbos PDP through the remote engine. Identity is still verified locally; only the verified
 * principal travels to the PDP. Then the PDP is made slow (SIGSTOP) and killed: both fail closed with
 * 503 and a reason code (`pdp_timeout`, `pdp_unavailable`), audited under the problem's decision id.
 */
import { readFileSync } from 'node:fs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  createAuditLog,
  createGuard,
  functionSink,
  type AuditLog,
  type AuditRecord,
} from '@meshguard/core'
import { RemoteEngine } from '@meshguard/core/remote'
import { CASES, POLICY_DIR, ROUTES, SERVICE, contractEngine, sendContractCase, type ContractAnswer } from '../adapters/contract.js'
import type { RunningApp } from '../adapters/drivers.js'
import { startExpressApp } from '../adapters/express-app.js'
import { startFastifyApp } from '../adapters/fastify-app.js'
import { startCerbosPdp, type CerbosPdp } from '../support/cerbos-pdp.js'
// Core's verifier from source, like test/support/identity.ts: the fixture's options carry the source's TrustBundle,
// a class the built declarations accept only from themselves (private members). At run time it is @meshguard/core's.
import { createIdentityVerifier } from '../../packages/core/src/identity/index.js'
import { createIdentityFixture, type IdentityFixture } from '../support/identity.js'

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
    engine: contractEngine(remote),
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

const allowedCase = CASES.find((c) => c.name.startsWith('allowed: manager reads'))!

/** List routes: the remote engine cannot plan, so past identity they fail closed (500), never list. */
const LIST_PATHS = new Set<string>([ROUTES.list, ROUTES.listOrEmpty])
const REMOTE_CASES = CASES.map((c) => (LIST_PATHS.has(c.path) && c.status !== 401 ? { ...c, status: 500, reason: 'internal_error', answer: undefined } : c))

describe('adapter contract with decisions from a real Cerbos PDP', () => {
  it.each(REMOTE_CASES.map((c) => [c.name, c] as const))('%s', async (_name, testCase) => {
    const headers = await testCase.headers(ids)
    for (const [name, app] of apps) {
      const answer = await sendContractCase(app, testCase, headers)
      expect([name, answer.status], JSON.stringify(answer.body)).toEqual([name, testCase.status])
      if (testCase.status === 200) expect(answer.body, name).toEqual(testCase.answer)
      else expect(answer.body['reason'], name).toBe(testCase.reason)
    }
  })

  it('a PDP that stops answering fails closed with 503 pdp_timeout, and recovers', async () => {
    const headers = await allowedCase.headers(ids)
    const app = apps.get('express')!
    process.kill(-pdp!.pid, 'SIGSTOP')
    let slow: ContractAnswer
    try {
      // A signal is delivered asynchronously: wait until the kernel reports the PDP stopped.
      await stoppedOrTimeout(pdp!.pid)
      slow = await sendContractCase(app, allowedCase, headers)
    } finally {
      process.kill(-pdp!.pid, 'SIGCONT')
    }
    expect(slow.status).toBe(503)
    expect(slow.body['reason']).toBe('pdp_timeout')
    expect((await sendContractCase(app, allowedCase, headers)).status).toBe(200)
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
      const answer = await sendContractCase(app, allowedCase, headers)
      expect([name, answer.status, answer.body['reason']]).toEqual([name, 503, 'pdp_unavailable'])
    }
  })
})

/** Resolves once /proc says the process is stopped (state T), or after 2 s (then the test decides). */
async function stoppedOrTimeout(pid: number): Promise<void> {
  for (let i = 0; i < 200; i++) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
      // The state is the first field after the parenthesised command name.
      if (stat.slice(stat.lastIndexOf(')') + 2).startsWith('T')) return
    } catch {
      return
    }
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
}
