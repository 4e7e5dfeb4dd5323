/**
 * The demo scenario runs in the normal test suite: the whole sample system over real HTTP on
 * 127.0.0.1, every expectation asserted, plus what the audit trail must show for each point.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startSystem, type Mode, type System } from '../../examples/demo/src/system.mjs'
import { runScenario, type StepOutcome as Outcome } from '../../examples/demo/src/run-scenario.mjs'
import { SCENARIO, scenarioFor, type Step } from '../../examples/demo/src/scenario.mjs'
import { candidateEngine, policyOperations, shadowRun } from '../../examples/demo/src/operations.mjs'

/** Closes what beforeAll started: it may have failed before starting it. */
const closeStarted = async (started: System | undefined): Promise<void> => {
  await started?.close()
}

/** The scenario's step at `index` (the scenario has it). */
const stepAt = (index: number): Step => {
  const step = SCENARIO[index]
  expect(step, `scenario step ${index}`).toBeDefined()
  if (step === undefined) throw new Error(`no scenario step ${index}`)
  return step
}

let dir: string
let system: System
let outcomes: Outcome[]

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'meshguard-demo-test-'))
  system = await startSystem({ auditFile: join(dir, 'audit.jsonl') })
  outcomes = await runScenario(system)
})

afterAll(async () => {
  await closeStarted(system)
  await rm(dir, { recursive: true, force: true })
})

const outcomeOf = (request: string, point: RegExp): Outcome => {
  const found = outcomes.find((o) => o.step.request === request && point.test(o.step.point))
  if (!found) throw new Error(`no step ${request} ${point}`)
  return found
}
const hops = (o: Outcome): string[] => o.records.map((r) => `${system.nameOf(r.workloadId)}→${system.nameOf(r.service)}:${r.outcome}`)

/** The attack rows refused at inner services, by point, and the reason each profile gives. */
const INNER_ATTACKS: [string, string, string][] = [
  ["a user's token sent straight to an inner service", 'token_missing', 'token_missing'],
  ['replay', 'wpt_aud', 'aud_mismatch'],
  ['forged', 'wpt_invalid', 'signature_invalid'],
  ['expired', 'wpt_expired', 'token_expired'],
  ['replayed proof', 'wpt_replay', ''],
  ['the old profile', 'wpt_required', ''],
  ['an expired Txn-Token replayed, with a fresh workload token bound to it', 'txn_token_expired', 'txn_token_expired'],
  ['spliced', 'wpt_unbound', 'txn_token_unbound'],
  ["a Txn-Token from another trust domain's TTS", 'txn_token_untrusted', 'txn_token_untrusted'],
]
const innerAttacks = (list: Outcome[]): Outcome[] => list.filter((o) => o.step.expected === 401 && o.records.some((r) => r.kind === 'auth_failure'))
const reasonsOf = (list: Outcome[]): string[][] => innerAttacks(list).map((o) => [o.step.point.split(':')[0] ?? '', o.records.at(-1)?.reason ?? ''])

describe('the demo scenario (default profile: WIMSE WIT/WPT + Txn-Tokens)', () => {
  it('runs the WIMSE profile by default, with the rows only it has', () => {
    expect(system.mode).toBe('wimse')
    expect(outcomes.map((o) => o.step)).toEqual(scenarioFor('wimse'))
    expect(scenarioFor('wimse').length).toBe(SCENARIO.length)
    expect(scenarioFor('self-signed').length).toBe(SCENARIO.length - 2)
  })

  it('meets every expectation', () => {
    expect(outcomes).toHaveLength(SCENARIO.length)
    for (const o of outcomes) expect({ request: o.step.request, point: o.step.point, status: o.status }).toEqual({ request: o.step.request, point: o.step.point, status: o.step.expected })
  })

  it('checks a manager at every hop, for her, with one transaction id', () => {
    const o = outcomeOf('GET gateway /api/reviews/rv-eng-1', /own department/)
    expect(hops(o)).toEqual(['gateway→employee-service:allowed', 'employee-service→review-service:allowed'])
    expect(new Set(o.records.map((r) => r.actorId))).toEqual(new Set(['alice']))
    expect(new Set(o.records.map((r) => r.transactionId)).size).toBe(1)
    // One trace from the gateway through every hop (W3C traceparent propagated by the client).
    const traces = new Set(o.records.map((r) => r.traceId))
    expect(traces.size).toBe(1)
    expect([...traces][0]).toMatch(/^[0-9a-f]{32}$/)
    expect(o.decidedBy).toBe('resource.review.vdefault')
  })

  it('denies another department at review-service under the seed policy', () => {
    const o = outcomeOf('GET gateway /api/reviews/rv-sales-1', /another department/)
    expect(hops(o)).toEqual(['gateway→employee-service:allowed', 'employee-service→review-service:denied'])
    expect(o.decidedBy).toBe('resource.review.vdefault')
  })

  it('holds the AI agent to aggregates', () => {
    const ok = outcomeOf('GET gateway /api/reports/hr-summary', /aggregates/)
    expect(ok.records.at(-1)).toMatchObject({ outcome: 'allowed', action: 'read:aggregate', resource: { kind: 'hr_report' }, actorId: 'hr-reporting-agent' })
    const raw = outcomeOf('GET gateway /api/reports/hr-raw', /raw reviews/)
    expect(raw.records.at(-1)).toMatchObject({ outcome: 'denied', action: 'read', resource: { kind: 'review' }, policy: 'resource.review.vdefault' })
  })

  it('lists reviews through a query plan run as SQL in review-service', () => {
    const ids = (o: Outcome): unknown => (o.body as { reviews: { id: string }[] }).reviews.map((r) => r.id)
    const alice = outcomeOf('GET gateway /api/reviews', /manager lists/)
    expect(ids(alice)).toEqual(['rv-eng-1', 'rv-eng-2'])
    expect(alice.records.at(-1)).toMatchObject({ outcome: 'allowed', planKind: 'KIND_CONDITIONAL', resource: { kind: 'review' }, actorId: 'alice' })
    expect(ids(outcomeOf('GET gateway /api/reviews', /HR lists/))).toEqual(['rv-eng-1', 'rv-eng-2', 'rv-people-1', 'rv-sales-1'])
    const ed = outcomeOf('GET gateway /api/reviews', /lists nothing/)
    expect(ed.body).toEqual({ planKind: 'KIND_ALWAYS_DENIED', reviews: [] })
    const agent = outcomeOf('GET gateway /api/reports/hr-list', /listing raw reviews/)
    expect(agent.records.at(-1)).toMatchObject({ outcome: 'denied', planKind: 'KIND_ALWAYS_DENIED', resource: { kind: 'review' } })
  })

  it('stops the lateral move at payments', () => {
    const o = outcomeOf('POST gateway /api/orders/ord-1/cancel', /lateral/)
    expect(hops(o)).toEqual(['gateway→orders:allowed', 'orders→payments:denied'])
    expect(o.records.at(-1)).toMatchObject({ action: 'refund', policy: 'resource.payment.vdefault' })
  })

  it('refuses an edited user token at the edge, before any service is reached', () => {
    const o = outcomeOf('GET gateway /api/reviews/rv-sales-1', /tampered/)
    expect(o.records).toEqual([])
    expect(o.body).toMatchObject({ status: 401, code: 'ERR_AUTHZ_IDENTITY_INVALID', reason: 'signature_invalid' })
    expect(o.decidedBy).toBe('signature_invalid')
  })

  it('rejects the attacks on inner services with the reason that names the check (WIT/WPT rows included)', () => {
    expect(reasonsOf(outcomes)).toEqual(INNER_ATTACKS.map(([point, wimse]) => [point, wimse]))
    for (const o of innerAttacks(outcomes)) {
      // Each answered 401 with the reason in its problem body; only the replayed proof's genuine
      // first use (through the gateway) was allowed, and then refused when sent again.
      expect(o.body).toMatchObject({ status: 401, reason: o.records.at(-1)?.reason })
      const failures = o.records.filter((r) => r.kind === 'auth_failure')
      expect(failures).toHaveLength(1)
      if (!o.step.point.startsWith('replayed proof')) expect(o.records).toEqual(failures)
    }
    const replayed = outcomeOf('GET review-service /reviews/rv-eng-1', /replayed proof/)
    expect(hops(replayed)).toEqual(['gateway→employee-service:allowed', 'employee-service→review-service:allowed', '→review-service:unauthenticated'])
  })

  it('sends inner services a WIT and a fresh WPT per hop, never a Bearer workload token', () => {
    const users = outcomes.filter((o) => ['browser', 'scheduler'].includes(o.step.caller))
    const received = users.flatMap((o) => o.received)
    expect(received.length).toBeGreaterThan(15)
    const proofs = new Set<string>()
    for (const { headers } of received) {
      expect(headers['workload-identity-token']).toMatch(/^eyJ[\w-]+\.eyJ[\w-]+\.[\w-]+$/)
      expect(headers['authorization']).toMatch(/^WPT eyJ/)
      proofs.add(String(headers['authorization']))
    }
    expect(proofs.size).toBe(received.length)
    // Every WIT comes from the one issuer (the Txn-Token Service), for the sender's own identifier.
    const issuers = new Set(received.map(({ headers }) => (JSON.parse(Buffer.from(String(headers['workload-identity-token']).split('.')[1] ?? '', 'base64url').toString('utf8')) as { iss: string }).iss))
    expect(issuers).toEqual(new Set([system.ttsUrl]))
  })

  it('refuses, at the Txn-Token Service, a wider replacement and an exchange by a workload the policy does not allow', () => {
    const atTts = outcomes.filter((o) => o.step.request.startsWith('POST txn-token-service'))
    expect(atTts.map((o) => [o.status, (o.body as { reason?: string }).reason])).toEqual([
      [403, 'txn_token_denied'],
      [403, 'txn_token_denied'],
    ])
    expect(atTts.map((o) => (o.body as { detail?: string }).detail)).toEqual([
      expect.stringContaining('invalid_scope'),
      expect.stringContaining('unauthorized_client'),
    ])
  })

  it('proves from the recorded request headers that no inner service ever received a user access token', () => {
    const users = outcomes.filter((o) => ['browser', 'scheduler'].includes(o.step.caller))
    const received = users.flatMap((o) => o.received)
    expect(received.length).toBeGreaterThan(15)
    const accessTokens = Object.values(system.tokens)
    for (const { headers } of received) {
      expect(headers['x-meshguard-actor']).toBeUndefined()
      expect(typeof headers['txn-token']).toBe('string')
      for (const token of accessTokens) expect(JSON.stringify(headers)).not.toContain(token)
    }
  })

  it('reports a step whose answer differs from its expectation as failed', async () => {
    const wrong = { ...stepAt(1), expected: 200 }
    const [result] = await runScenario(system, [wrong])
    expect(result).toMatchObject({ status: 403, passed: false })
  })

  it('writes every record to the JSON-lines audit file, without tokens', async () => {
    const text = await readFile(system.auditFile, 'utf8')
    const lines = text.trim().split('\n')
    expect(lines).toHaveLength(system.audit.length)
    for (const line of lines) expect(() => JSON.parse(line) as unknown).not.toThrow()
    expect(text).not.toMatch(/eyJ[A-Za-z0-9_-]{10,}\.eyJ/)
  })

  it('runs the policy operations: a shadow run that reports (not enforces) the one change, an explained denial, a route table', async () => {
    const { replayed, differences } = shadowRun(system.audit, await candidateEngine())
    expect(replayed).toBeGreaterThan(10)
    // Only HR reading another department's review changes; it was served (live ALLOW).
    expect(differences.map((d) => d.line)).toEqual(['review:rv-sales-1 read for hana: live ALLOW, candidate DENY'])
    expect(outcomes.find((o) => o.step.request.includes('rv-sales-1') && o.records.some((r) => r.actorId === 'hana'))?.status).toBe(200)
    const colors = { bold: (t: string) => t, dim: (t: string) => t }
    const lines = await policyOperations(system, colors)
    expect(lines).toContain('    read: DENY by resource.review.vdefault (no rule matched: denied by default)')
    expect(lines).toContain('  GET     /reviews/:id  authorize  (resolver)  read            required')
  })
})

describe('the sample system in the self-signed profile', () => {
  it('runs the same scenario with self-signed workload tokens, and refuses the attacks with its own reasons', async () => {
    const modeDir = await mkdtemp(join(tmpdir(), 'meshguard-demo-ss-'))
    const ssSystem = await startSystem({ auditFile: join(modeDir, 'audit.jsonl'), mode: 'self-signed' })
    try {
      const ssOutcomes = await runScenario(ssSystem)
      expect(ssSystem.mode).toBe('self-signed')
      expect(ssOutcomes.map((o) => o.step)).toEqual(scenarioFor('self-signed'))
      for (const o of ssOutcomes) expect({ point: o.step.point, status: o.status }).toEqual({ point: o.step.point, status: o.step.expected })
      expect(reasonsOf(ssOutcomes)).toEqual(INNER_ATTACKS.filter(([, , ss]) => ss !== '').map(([point, , ss]) => [point, ss]))
      const received = ssOutcomes.filter((o) => o.step.point.includes('own department')).flatMap((o) => o.received)
      expect(received.length).toBeGreaterThan(0)
      for (const { headers } of received) {
        expect(headers['workload-identity-token']).toBeUndefined()
        expect(headers['authorization']).toMatch(/^Bearer eyJ/)
      }
    } finally {
      await ssSystem.close()
      await rm(modeDir, { recursive: true, force: true })
    }
  })

  it('refuses a mode it does not know', async () => {
    // A mode outside Mode on purpose: what a caller from plain JavaScript could pass.
    const unknownMode = 'txn-token' as unknown as Mode
    await expect(startSystem({ auditFile: join(tmpdir(), 'never.jsonl'), mode: unknownMode })).rejects.toThrow(/unknown mode "txn-token"/)
  })
})

describe('the sample system in access-token mode', () => {
  it('still forwards the access token itself, bound to each workload token, when no TTS is configured', async () => {
    const modeDir = await mkdtemp(join(tmpdir(), 'meshguard-demo-at-'))
    const atSystem = await startSystem({ auditFile: join(modeDir, 'audit.jsonl'), mode: 'access-token' })
    try {
      const [first] = await runScenario(atSystem, [stepAt(0)])
      expect(first?.status).toBe(200)
      expect(first?.received.length).toBeGreaterThan(0)
      for (const { headers } of first?.received ?? []) {
        expect(headers['x-meshguard-actor']).toBe(atSystem.tokens['alice'])
        expect(headers['txn-token']).toBeUndefined()
      }
    } finally {
      await atSystem.close()
      await rm(modeDir, { recursive: true, force: true })
    }
  })
})
