// Benchmark of the embedded engine against the real Cerbos PDP, in one run on one machine.
// Usage: `pnpm bench:engine` (builds, then runs this file against packages/core/dist).
//
// For each scenario: median ns per check of EmbeddedEngine.checkResourcesSync (one request, one
// resource), checks/s, and the same request sent to a Cerbos 0.55 PDP on loopback over HTTP
// (undici, keep-alive) and over gRPC (@cerbos/grpc), with how many times slower each round trip is.
// The PDP is started here (own process group, killed on exit) with the same policies and options.
// A second table does the same for PlanResources (query plans): EmbeddedEngine.planResourcesSync
// against the PDP's `/api/plan/resources` round trip over HTTP.
// Then the end-to-end list query for 10k rows in PGlite (plan + SQL against fetching every row and
// checking each in memory; bench/list-query.mjs). `node bench/engine.mjs list` runs only that part
// (no PDP needed). Last, what explaining a decision and shadow-evaluating it cost beside the plain
// check; `node bench/engine.mjs explain` runs only that part.
import { spawn } from 'node:child_process'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { GRPC } from '@cerbos/grpc'
import { Pool } from 'undici'
import { EmbeddedEngine } from '../packages/core/dist/index.js'
import { shadowDifferences } from '../packages/core/dist/testing.js'
import { benchListQuery } from './list-query.mjs'

const root = (path) => fileURLToPath(new URL(`../${path}`, import.meta.url))
const CERBOS = process.env.CERBOS_BINARY ?? root('node_modules/@cerbos/cerbos-linux-x64/cerbos-linux-x64')
const STORE = root('conformance/cerbos/store')
const SEED_POLICIES = root('examples/policies')

const ENGINE_ROUNDS = 15
/** Each timed round runs about this long, so slow and fast scenarios both get stable medians. */
const ROUND_NS = 40e6
const PDP_CALLS = Number(process.env.BENCH_PDP_CALLS ?? 400)

// ---------------------------------------------------------------- scenarios

const workloadFor = (user) => ({
  id: 'spiffe://meshguard.example/ns/hr/sa/employee-service',
  roles: ['employee-service'],
  attr: { act: { user } },
})
const LEAVE_ATTR = { department: 'marketing', geography: 'GB', id: 'XX125', owner: 'john', team: 'design' }

const SCENARIOS = [
  {
    name: 'seed policy: manager reads review (derived role + condition)',
    policies: 'seed',
    request: {
      principal: workloadFor({ id: 'alice', roles: ['employee', 'manager'], attr: { department: 'engineering' } }),
      resources: [{ resource: { kind: 'review', id: 'rev-1', attr: { department: 'engineering' } }, actions: ['read'] }],
    },
  },
  {
    name: 'seed policy: plain employee denied',
    policies: 'seed',
    request: {
      principal: workloadFor({ id: 'ed', roles: ['employee'], attr: { department: 'engineering' } }),
      resources: [{ resource: { kind: 'review', id: 'rev-1', attr: { department: 'engineering' } }, actions: ['read'] }],
    },
  },
  {
    name: 'corpus leave_request v20210210: 3 actions, derived roles',
    policies: 'store',
    request: {
      principal: { id: 'john', roles: ['employee'], policyVersion: '20210210', attr: { department: 'marketing', geography: 'GB', team: 'design' } },
      resources: [{ resource: { kind: 'leave_request', id: 'XX125', policyVersion: '20210210', attr: LEAVE_ATTR }, actions: ['view:public', 'approve', 'defer'] }],
    },
  },
  {
    name: 'corpus leave_request: 6-deep scope chain',
    policies: 'store',
    request: {
      principal: { id: 'john', roles: ['employee'], attr: { department: 'marketing', geography: 'GB', team: 'design' } },
      resources: [{ resource: { kind: 'leave_request', id: 'XX125', scope: 'acme.hr.uk.brighton.kemptown', attr: LEAVE_ATTR }, actions: ['view:public', 'delete'] }],
    },
  },
  {
    name: 'corpus equipment_request: outputs',
    policies: 'store',
    request: {
      principal: { id: 'john', roles: ['employee'], attr: { department: 'marketing', geography: 'GB', team: 'design' } },
      resources: [{ resource: { kind: 'equipment_request', id: 'XX125', scope: 'acme', attr: LEAVE_ATTR }, actions: ['view:public', 'create'] }],
    },
  },
  {
    name: 'corpus principal policy (donald_duck, acme.hr)',
    policies: 'store',
    request: {
      principal: { id: 'donald_duck', scope: 'acme.hr', roles: ['employee'], attr: { department: 'marketing', geography: 'GB', team: 'design', managed_geographies: 'GB' } },
      resources: [{ resource: { kind: 'salary_record', id: 'XX125', attr: LEAVE_ATTR }, actions: ['view:public', 'delete'] }],
    },
  },
]

/** PlanResources scenarios: list queries (no resource id; some attributes unknown). */
const PLAN_SCENARIOS = [
  {
    name: 'seed policy: manager lists reviews (derived role + condition)',
    policies: 'seed',
    request: {
      principal: workloadFor({ id: 'alice', roles: ['employee', 'manager'], attr: { department: 'engineering' } }),
      resource: { kind: 'review' },
      actions: ['read'],
    },
  },
  {
    name: 'corpus leave_request v20210210: 3 actions, derived roles',
    policies: 'store',
    request: {
      principal: { id: 'john', roles: ['employee'], policyVersion: '20210210', attr: { department: 'marketing', geography: 'GB', team: 'design' } },
      resource: { kind: 'leave_request', policyVersion: '20210210' },
      actions: ['view:public', 'approve', 'defer'],
    },
  },
  {
    name: 'corpus leave_request: 6-deep scope chain',
    policies: 'store',
    request: {
      principal: { id: 'john', roles: ['employee'], attr: { department: 'marketing', geography: 'GB', team: 'design' } },
      resource: { kind: 'leave_request', scope: 'acme.hr.uk.brighton.kemptown' },
      actions: ['view:public', 'delete'],
    },
  },
]

const POLICY_SETS = {
  seed: { dir: SEED_POLICIES, globals: {} },
  store: { dir: STORE, globals: { environment: 'test' } },
}

// ---------------------------------------------------------------- PDP lifecycle

const children = new Set()
// Ctrl-C or a kill still runs the exit hook below, so no PDP outlives the benchmark.
for (const signal of ['SIGINT', 'SIGTERM']) process.once(signal, () => process.exit(130))
process.once('exit', () => {
  for (const child of children) {
    try {
      process.kill(-child.pid, 'SIGKILL')
    } catch {
      // already gone
    }
  }
})

function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address()
      server.close(() => resolve(port))
    })
  })
}

async function startPdp({ dir, globals }) {
  const [httpPort, grpcPort] = [await freePort(), await freePort()]
  const work = await mkdtemp(join(tmpdir(), 'meshguard-bench-cerbos-'))
  const config = join(work, 'cerbos.json')
  await writeFile(
    config,
    JSON.stringify({
      server: { httpListenAddr: `127.0.0.1:${httpPort}`, grpcListenAddr: `127.0.0.1:${grpcPort}` },
      engine: { globals, defaultPolicyVersion: 'default' },
      audit: { enabled: false },
      telemetry: { disabled: true },
      storage: { driver: 'disk', disk: { directory: dir, watchForChanges: false } },
    }),
  )
  const child = spawn(CERBOS, ['server', `--config=${config}`, '--log-level=error'], { detached: true, stdio: 'ignore', cwd: work })
  children.add(child)
  const httpUrl = `http://127.0.0.1:${httpPort}`
  const deadline = Date.now() + 30_000
  for (;;) {
    try {
      const res = await fetch(`${httpUrl}/_cerbos/health`)
      if ((await res.json()).status === 'SERVING') break
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline || child.exitCode !== null) throw new Error(`Cerbos PDP for ${dir} did not start`)
    await new Promise((r) => setTimeout(r, 50))
  }
  return {
    httpUrl,
    grpcAddress: `127.0.0.1:${grpcPort}`,
    async stop() {
      try {
        process.kill(-child.pid, 'SIGTERM')
      } catch {
        // already gone
      }
      await new Promise((r) => (child.exitCode !== null ? r() : child.once('exit', r)))
      children.delete(child)
      await rm(work, { recursive: true, force: true })
    },
  }
}

// ---------------------------------------------------------------- measuring

const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = sorted.length >> 1
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2
}

let sink = 0
function benchEngine(engine, request) {
  return benchSync(() => engine.checkResourcesSync(request).results.length)
}

/** Median ns per call of a synchronous operation (its result, a number, is kept from being optimised away). */
function benchSync(run) {
  // Warm up (JIT, caches) and size the batch from a first estimate.
  let batch = 100
  let start = process.hrtime.bigint()
  for (let i = 0; i < batch; i++) sink ^= run()
  for (let elapsed = 0; elapsed < 200e6; ) {
    start = process.hrtime.bigint()
    for (let i = 0; i < batch; i++) sink ^= run()
    elapsed += Number(process.hrtime.bigint() - start)
    batch *= 2
  }
  const estimate = Number(process.hrtime.bigint() - start) / (batch / 2)
  batch = Math.max(100, Math.round(ROUND_NS / estimate))
  const rounds = []
  for (let r = 0; r < ENGINE_ROUNDS; r++) {
    start = process.hrtime.bigint()
    for (let i = 0; i < batch; i++) sink ^= run()
    rounds.push(Number(process.hrtime.bigint() - start) / batch)
  }
  return median(rounds)
}

/** A filter with the operands of commutative operators sorted (the PDP's own order varies). */
function stableFilter(filter) {
  const go = (op) => {
    if (!op || typeof op !== 'object' || !('expression' in op)) return op
    const { operator, operands = [] } = op.expression
    let out = operands.map(go)
    if (['and', 'or', 'eq', 'ne', 'add', 'mult', 'struct'].includes(operator)) out = out.map((o) => JSON.stringify(o)).sort().map((o) => JSON.parse(o))
    return { expression: { operator, operands: out } }
  }
  return JSON.stringify({ kind: filter.kind, condition: go(filter.condition) })
}

async function benchCalls(call) {
  for (let i = 0; i < 50; i++) await call()
  const samples = []
  for (let i = 0; i < PDP_CALLS; i++) {
    const start = process.hrtime.bigint()
    await call()
    samples.push(Number(process.hrtime.bigint() - start))
  }
  return median(samples)
}

/** The HTTP API body: the same request, with includeMeta like the engine's answer carries attribution. */
const httpBody = (request) => JSON.stringify({ ...request, includeMeta: true })

/** @cerbos/grpc takes the same shape (principal/resources with attr, policyVersion, scope). */
const grpcRequest = (request) => ({ ...request, includeMetadata: true })

// ---------------------------------------------------------------- main

const fmtNs = (ns) => (ns >= 1e6 ? `${(ns / 1e6).toFixed(2)} ms` : ns >= 1e3 ? `${(ns / 1e3).toFixed(2)} µs` : `${ns.toFixed(0)} ns`)
const fmtRate = (ns) => `${Math.round(1e9 / ns).toLocaleString('en-US')}/s`
const fmtRatio = (x) => `${x >= 100 ? Math.round(x).toLocaleString('en-US') : x.toFixed(1)}×`

async function main() {
  const engines = {}
  const pdps = {}
  try {
    for (const [key, set] of Object.entries(POLICY_SETS)) {
      engines[key] = await EmbeddedEngine.fromDirectory(set.dir, { globals: set.globals })
      pdps[key] = await startPdp(set)
    }
    const rows = []
    for (const scenario of SCENARIOS) {
      const engine = engines[scenario.policies]
      const pdp = pdps[scenario.policies]
      const embedded = benchEngine(engine, scenario.request)
      const pool = new Pool(pdp.httpUrl, { connections: 1, pipelining: 1 })
      const body = httpBody(scenario.request)
      const http = await benchCalls(async () => {
        const res = await pool.request({ path: '/api/check/resources', method: 'POST', body, headers: { 'content-type': 'application/json' } })
        const json = await res.body.json()
        if (!json.results) throw new Error(`PDP error: ${JSON.stringify(json)}`)
      })
      await pool.close()
      const grpcClient = new GRPC(pdp.grpcAddress, { tls: false })
      const grpc = await benchCalls(async () => {
        await grpcClient.checkResources(grpcRequest(scenario.request))
      })
      grpcClient.close()
      // Same decisions on both sides, or the comparison is meaningless.
      const ours = engine.checkResourcesSync(scenario.request).results.map((r) => r.actions)
      const theirs = (await (await fetch(`${pdp.httpUrl}/api/check/resources`, { method: 'POST', body })).json()).results.map((r) => r.actions)
      const agree = JSON.stringify(ours.map(sortKeys)) === JSON.stringify(theirs.map(sortKeys))
      rows.push({ scenario: scenario.name, embedded, http, grpc, agree })
    }
    print(rows)
    const planRows = []
    for (const scenario of PLAN_SCENARIOS) {
      const engine = engines[scenario.policies]
      const pdp = pdps[scenario.policies]
      const embedded = benchSync(() => engine.planResourcesSync(scenario.request).filter.kind.length)
      const pool = new Pool(pdp.httpUrl, { connections: 1, pipelining: 1 })
      const body = JSON.stringify({ ...scenario.request, includeMeta: true })
      const http = await benchCalls(async () => {
        const res = await pool.request({ path: '/api/plan/resources', method: 'POST', body, headers: { 'content-type': 'application/json' } })
        const json = await res.body.json()
        if (!json.filter) throw new Error(`PDP error: ${JSON.stringify(json)}`)
      })
      await pool.close()
      const theirs = (await (await fetch(`${pdp.httpUrl}/api/plan/resources`, { method: 'POST', body })).json()).filter
      const agree = stableFilter(engine.planResourcesSync(scenario.request).filter) === stableFilter(theirs)
      planRows.push({ scenario: scenario.name, embedded, http, agree })
    }
    console.log(`\nPlanResources (query plans), embedded vs the PDP's /api/plan/resources over HTTP\n`)
    for (const row of planRows) {
      console.log(`${row.scenario}: embedded ${fmtNs(row.embedded)} per plan (${fmtRate(row.embedded)}); PDP HTTP ${fmtNs(row.http)} (${fmtRatio(row.http / row.embedded)} slower); same filter: ${row.agree ? 'yes' : 'NO'}`)
    }
    if (planRows.some((r) => !r.agree)) console.log('WARNING: the engine and the PDP plan differently for at least one scenario.')
    // A repeated check from a cached caller: the principal is one deep-frozen object, as identity
    // hands it out, so the engine reuses its answer (the clock is not read by the seed policy).
    const repeated = { ...SCENARIOS[0].request, principal: deepFrozen(structuredClone(SCENARIOS[0].request.principal)) }
    console.log(`Seed policy, the same check again for a cached (frozen) principal: ${fmtNs(benchEngine(engines.seed, repeated))} per check (remembered answer).`)
    await benchListQuery(engines.seed)
  } finally {
    await Promise.all(Object.values(pdps).map((p) => p.stop()))
  }
  if (sink === -1) console.log('unreachable')
}

function deepFrozen(value) {
  if (value !== null && typeof value === 'object') {
    for (const key of Object.keys(value)) deepFrozen(value[key])
    Object.freeze(value)
  }
  return value
}

const sortKeys = (o) => Object.fromEntries(Object.entries(o).sort(([a], [b]) => (a < b ? -1 : 1)))

function print(rows) {
  const header = ['scenario', 'embedded median', 'checks/s', 'PDP HTTP median', 'HTTP ÷ embedded', 'PDP gRPC median', 'gRPC ÷ embedded', 'same effects']
  const table = [
    header,
    ...rows.map((r) => [
      r.scenario,
      fmtNs(r.embedded),
      fmtRate(r.embedded),
      fmtNs(r.http),
      fmtRatio(r.http / r.embedded),
      fmtNs(r.grpc),
      fmtRatio(r.grpc / r.embedded),
      r.agree ? 'yes' : 'NO',
    ]),
  ]
  const widths = header.map((_, c) => Math.max(...table.map((row) => row[c].length)))
  const line = (row) => row.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]) : cell.padStart(widths[c]))).join('  ')
  console.log(`\nEmbedded engine vs Cerbos 0.55 PDP on loopback (node ${process.version}; engine: median of ${ENGINE_ROUNDS} rounds of ~${ROUND_NS / 1e6} ms; PDP: median of ${PDP_CALLS} sequential calls per transport)\n`)
  console.log(line(table[0]))
  console.log(widths.map((w) => '-'.repeat(w)).join('  '))
  for (const row of table.slice(1)) console.log(line(row))
  const seed = rows[0]
  console.log(
    `\nSeed policy: ${fmtNs(seed.embedded)} per check (target ≤ 2 µs: ${seed.embedded <= 2000 ? 'met' : 'NOT met'}); ` +
      `${fmtRatio(seed.http / seed.embedded)} faster than the PDP over HTTP, ${fmtRatio(seed.grpc / seed.embedded)} over gRPC (target ≥ 500×: ${
        Math.min(seed.http, seed.grpc) / seed.embedded >= 500 ? 'met' : 'NOT met'
      }).`,
  )
  if (rows.some((r) => !r.agree)) {
    console.log('WARNING: the engine and the PDP disagree on at least one scenario (see "same effects").')
    process.exitCode = 1
  }
}

/**
 * What explaining and shadowing cost per check, beside the plain check: the explain pass
 * (`explainSync`, run by the guard for denials only) and a shadow evaluation (the same request on a
 * second engine with the same policies, plus the comparison). Plain checks repeat the same request,
 * so the engine's remembered answers are turned off here: every column evaluates.
 */
async function benchExplainAndShadow() {
  const options = { rememberDecisions: false }
  const live = { seed: await EmbeddedEngine.fromDirectory(SEED_POLICIES, options), store: await EmbeddedEngine.fromDirectory(STORE, { ...options, globals: { environment: 'test' } }) }
  const candidate = { seed: await EmbeddedEngine.fromDirectory(SEED_POLICIES, options), store: await EmbeddedEngine.fromDirectory(STORE, { ...options, globals: { environment: 'test' } }) }
  console.log(`\nExplain and shadow cost per check (median of ${ENGINE_ROUNDS} rounds; the guard explains denials only)\n`)
  for (const scenario of SCENARIOS) {
    const request = { ...scenario.request, includeMeta: true }
    const engine = live[scenario.policies]
    const shadow = candidate[scenario.policies]
    const plain = benchSync(() => engine.checkResourcesSync(request).results.length)
    const explained = benchSync(() => engine.explainSync(request).explanation.resources.length)
    const shadowed = benchSync(() => {
      const response = engine.checkResourcesSync(request)
      return shadowDifferences(request, response, shadow.checkResourcesSync(request)).length + response.results.length
    })
    console.log(
      `${scenario.name}: check ${fmtNs(plain)}; check+explain ${fmtNs(plain + explained)} (explain ${fmtRatio(explained / plain)} a check); ` +
        `check+shadow ${fmtNs(shadowed)} (${fmtRatio(shadowed / plain)} a check)`,
    )
  }
  if (sink === -1) console.log('unreachable')
}

if (process.argv[2] === 'list') await benchListQuery(await EmbeddedEngine.fromDirectory(SEED_POLICIES))
else if (process.argv[2] === 'explain') await benchExplainAndShadow()
else {
  await main()
  await benchExplainAndShadow()
}
