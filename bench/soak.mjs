// Soak under faults: bounded load on loopback against two meshguard services (one with a fail-open
// audit log, one fail-closed) while the issuer's JWKS endpoint hangs and goes down, the audit sinks go
// slow, hang and fail, both services are killed with SIGKILL mid-traffic, one restart is tried on a
// broken policy directory and the services come back on good ones. Prints latency per phase and every
// invariant it checked; exits 1 if one failed. Usage: `pnpm bench:soak` (builds first).
//
// Each service is its own process (`node bench/soak.mjs service`, config on stdin): plain node:http
// calling core's guard, workload keys from the JWKS endpoint (refreshed every second, so refreshes
// happen all the time), a file sink behind a fault switch plus an in-memory counting sink.
// The load generator (this process) sends a fixed rate with a cap on requests in flight (bounded
// load: beyond the cap a tick's requests are skipped and counted), each with a new workload token
// (so every request looks its key up) and the same user token.
//
// Env: SOAK_PHASE_S (4) seconds per phase, SOAK_RATE (150) requests/s per service, SOAK_INFLIGHT (32)
//      cap per service, SOAK_CORE (packages/core/dist) the core build the services use (to compare
//      builds; the invariants name fields the current build reports).
import { spawn } from 'node:child_process'
import { createHash, createPrivateKey, generateKeyPairSync, randomUUID, sign } from 'node:crypto'
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { Agent, createServer, request as httpRequest } from 'node:http'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

const ROOT = fileURLToPath(new URL('..', import.meta.url))
const SELF = fileURLToPath(import.meta.url)
const CORE = resolve(process.env.SOAK_CORE ?? join(ROOT, 'packages/core/dist'))
const POLICY_DIR = join(ROOT, 'examples/policies')
const PHASE_S = Number(process.env.SOAK_PHASE_S ?? 4)
const RATE = Number(process.env.SOAK_RATE ?? 150)
const INFLIGHT = Number(process.env.SOAK_INFLIGHT ?? 32)

const CALLER_ID = 'spiffe://example.org/ns/hr/sa/employee-service'
const SERVICE_ID = 'spiffe://example.org/ns/hr/sa/review-service'
const USER_ISSUER = 'https://idp.example.org'
const ACTOR_AUDIENCE = 'meshguard'
const ACTOR_HEADER = 'x-meshguard-actor'

/** Audit settings of the two services; the crash bounds below come from these. */
const AUDIT = { bufferSize: 2048, batchSize: 64, writeTimeoutMs: 1000, maxUnconfirmedRecords: 64, maxUnconfirmedMs: 500 }
/** Remote JWKS settings: keys go stale after a second, a fetch is abandoned after two. */
const JWKS = { cacheMaxAgeMs: 1000, timeoutMs: 2000, cooldownMs: 3000, staleIfErrorMs: 600_000 }

// ---------------------------------------------------------------------------------------------
// The service (child process).

async function runService() {
  let input = ''
  for await (const chunk of process.stdin) input += chunk
  const config = JSON.parse(input)
  const core = await import(join(CORE, 'index.js'))

  // The file sink behind a switch the soak flips: ok | slow | hang | fail. It also checks the two
  // promises the log makes to a sink: never a call before the previous one settled, records in order.
  let mode = 'ok'
  let releaseHung = () => {}
  let active = 0
  let maxActive = 0
  let lastSeq = 0
  let orderViolations = 0
  const sequence = new Map()
  const file = core.fileSink({ path: config.auditFile })
  const guarded = (fn) => async (...args) => {
    active++
    maxActive = Math.max(maxActive, active)
    try {
      return await fn(...args)
    } finally {
      active--
    }
  }
  const faulty = {
    name: 'file',
    write: guarded(async (records) => {
      for (const record of records) {
        const seq = sequence.get(record.callId)
        sequence.delete(record.callId)
        if (seq === undefined || seq <= lastSeq) orderViolations++
        else lastSeq = seq
      }
      if (mode === 'slow') await new Promise((r) => setTimeout(r, 50))
      if (mode === 'hang') await new Promise((r) => (releaseHung = r))
      if (mode === 'fail') throw new Error('injected sink failure')
      await file.write(records)
    }),
    flush: guarded(() => file.flush()),
    close: guarded(() => file.close()),
  }
  let counted = 0
  const counter = { name: 'memory', write: (records) => void (counted += records.length) }

  const audit = core.createAuditLog({ sinks: [faulty, counter], failClosed: config.failClosed, onSinkError: () => {}, ...AUDIT })
  let seq = 0
  const tapped = { ...audit, record: (record) => (sequence.set(record.callId, ++seq), audit.record(record)) }
  const engine = await core.EmbeddedEngine.fromDirectory(config.policyDir)
  const identity = core.createIdentityVerifier({
    audience: SERVICE_ID,
    cacheSize: 0,
    trust: {
      workloads: [{ issuer: CALLER_ID, keys: { jwksUrl: config.jwksUrl, headers: { 'x-soak-service': config.name }, ...JWKS } }],
      actors: [{ issuer: USER_ISSUER, keys: { jwks: { keys: [config.userJwk] } }, audiences: [ACTOR_AUDIENCE] }],
    },
  })
  const guard = core.createGuard({ engine, identity, service: 'review-service', audit: tapped, telemetry: core.createTelemetry() })
  const route = { resource: (req) => ({ kind: 'review', id: req.id, attr: { department: 'engineering' } }), action: 'read', actor: 'required' }

  const json = (res, status, body, headers = {}) => {
    res.writeHead(status, { 'content-type': 'application/json', ...headers }).end(JSON.stringify(body))
  }
  const server = createServer(async (req, res) => {
    const url = new URL(req.url, 'http://x')
    if (url.pathname === '/_fault') {
      const next = url.searchParams.get('sink')
      if (mode === 'hang' && next !== 'hang') releaseHung()
      mode = next
      return json(res, 200, { mode })
    }
    if (url.pathname === '/_stats') {
      if (url.searchParams.has('flush')) await Promise.race([audit.flush(), new Promise((r) => setTimeout(r, 5000))])
      const memory = process.memoryUsage()
      return json(res, 200, { stats: audit.stats(), health: audit.health(), maxActive, orderViolations, counted, rss: memory.rss, heapUsed: memory.heapUsed })
    }
    const view = { method: req.method, path: url.pathname, route: '/reviews/:id', headers: req.headers, params: {}, request: { id: url.pathname.split('/')[2] } }
    const outcome = await guard.authorizeNow(view, route)
    if (outcome.ok) json(res, 200, { decisionId: outcome.decision?.id })
    else json(res, outcome.status, outcome.problem, outcome.headers)
  })
  server.listen(0, '127.0.0.1', () => process.stdout.write(`${JSON.stringify({ port: server.address().port })}\n`))
}

// ---------------------------------------------------------------------------------------------
// Tokens: ES256 signed with node:crypto (independent of the code under test).

function keyPair(kid) {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' })
  return { kid, key: createPrivateKey(privateKey.export({ format: 'pem', type: 'pkcs8' })), jwk: { ...publicKey.export({ format: 'jwk' }), kid, alg: 'ES256', use: 'sig' } }
}
const b64 = (value) => Buffer.from(JSON.stringify(value)).toString('base64url')
const jwt = (pair, typ, claims) => {
  const input = `${b64({ alg: 'ES256', kid: pair.kid, typ })}.${b64(claims)}`
  return `${input}.${sign('sha256', Buffer.from(input), { key: pair.key, dsaEncoding: 'ieee-p1363' }).toString('base64url')}`
}
const nowS = () => Math.floor(Date.now() / 1000)

// ---------------------------------------------------------------------------------------------
// The JWKS endpoint: up, down (503) or hang (accepts, never answers). Counts refreshes in flight per service.

function startJwks(pair) {
  const state = { mode: 'up', requests: 0, inFlight: new Map(), maxInFlight: 0, hanging: new Set() }
  const server = createServer((req, res) => {
    state.requests++
    const who = req.headers['x-soak-service'] ?? '?'
    const count = (state.inFlight.get(who) ?? 0) + 1
    state.inFlight.set(who, count)
    state.maxInFlight = Math.max(state.maxInFlight, count)
    res.on('close', () => state.inFlight.set(who, (state.inFlight.get(who) ?? 1) - 1))
    if (state.mode === 'down') return res.writeHead(503).end()
    if (state.mode === 'hang') return void state.hanging.add(res)
    res.writeHead(200, { 'content-type': 'application/jwk-set+json' }).end(JSON.stringify({ keys: [pair.jwk] }))
  })
  state.setMode = (mode) => {
    state.mode = mode
    if (mode !== 'hang') for (const res of state.hanging) res.destroy()
    if (mode !== 'hang') state.hanging.clear()
  }
  return new Promise((resolveStart) =>
    server.listen(0, '127.0.0.1', () => resolveStart({ state, server, url: `http://127.0.0.1:${server.address().port}/jwks.json` })),
  )
}

// ---------------------------------------------------------------------------------------------
// Services and load.

function launch(config) {
  const child = spawn(process.execPath, [SELF, 'service'], { stdio: ['pipe', 'pipe', 'pipe'] })
  let out = ''
  let err = ''
  child.stderr.on('data', (d) => (err += d))
  const exit = new Promise((r) => child.once('exit', (code, signal) => r({ code, signal })))
  const ready = new Promise((r) => {
    child.stdout.on('data', (d) => {
      out += d
      if (out.includes('\n')) r(JSON.parse(out.split('\n')[0]).port)
    })
    void exit.then(() => r(undefined))
  })
  child.stdin.end(JSON.stringify(config))
  return { child, ready, exit, stderr: () => err, stdout: () => out }
}

const agent = new Agent({ keepAlive: true, maxSockets: INFLIGHT * 2 })

function get(port, path, headers = {}) {
  return new Promise((resolveGet, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, path, headers, agent }, (res) => {
      let body = ''
      res.on('data', (d) => (body += d))
      res.on('end', () => resolveGet({ status: res.statusCode, body: body ? JSON.parse(body) : {} }))
      res.on('error', reject)
    })
    req.on('error', reject)
    req.end()
  })
}

class Load {
  constructor(service, caller, actor) {
    Object.assign(this, { service, caller, actor, inFlight: 0, skipped: 0, errors: 0, answers: [], phaseLatencies: [] })
  }
  start() {
    this.startedAt = performance.now()
    this.issued = 0
    this.timer = setInterval(() => this.tick(), 10)
  }
  stop() {
    clearInterval(this.timer)
  }
  tick() {
    const due = Math.floor(((performance.now() - this.startedAt) / 1000) * RATE) - this.issued
    for (let i = 0; i < due; i++) {
      this.issued++
      if (this.inFlight >= INFLIGHT || this.service.port === undefined) {
        this.skipped++
        continue
      }
      void this.one(this.service.port)
    }
  }
  async one(port) {
    this.inFlight++
    const workload = jwt(this.caller, 'workload+jwt', {
      iss: CALLER_ID, sub: CALLER_ID, aud: SERVICE_ID, iat: nowS(), exp: nowS() + 600, jti: randomUUID(),
      ath: createHash('sha256').update(this.actor).digest('base64url'),
    })
    const started = performance.now()
    const epoch = this.service.epoch
    try {
      const { status, body } = await get(port, '/reviews/r1', { authorization: `Bearer ${workload}`, [ACTOR_HEADER]: this.actor })
      const answer = { status, reason: body.reason, decisionId: body.decisionId, ms: performance.now() - started, epoch: this.service.epoch }
      this.answers.push(answer)
      this.phaseLatencies.push(answer.ms)
    } catch {
      // A request cut by the soak's own SIGKILL is expected; any other is not.
      if (this.service.port !== undefined && this.service.epoch === epoch) this.errors++
    } finally {
      this.inFlight--
    }
  }
}

const percentile = (values, p) => {
  if (values.length === 0) return NaN
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]
}
/** The file sink's counts (a build without per-sink stats reports the totals). */
const fileSinkOf = (stats) =>
  stats.sinks?.[0] ?? { written: stats.written, failed: stats.failedRecords, inDoubt: 0, shed: 0, pending: stats.buffered }
const sleep = (ms) => new Promise((r) => setTimeout(r, ms))

async function runSoak() {
  const dir = mkdtempSync(join(tmpdir(), 'meshguard-soak-'))
  const checks = []
  const check = (name, ok, detail = '') => {
    checks.push({ name, ok })
    console.log(`${ok ? 'ok  ' : 'FAIL'} ${name}${detail ? `  (${detail})` : ''}`)
  }
  try {
    const caller = keyPair('caller-1')
    const user = keyPair('user-1')
    const actor = jwt(user, 'at+jwt', { iss: USER_ISSUER, sub: 'alice', aud: ACTOR_AUDIENCE, iat: nowS(), exp: nowS() + 3000, jti: randomUUID(), roles: ['employee', 'manager'], department: 'engineering' })
    const jwks = await startJwks(caller)

    const services = ['open', 'closed'].map((name) => ({
      name,
      epoch: 0,
      port: undefined,
      config: { name, failClosed: name === 'closed', jwksUrl: jwks.url, userJwk: user.jwk, policyDir: POLICY_DIR, auditFile: join(dir, `${name}.jsonl`) },
    }))
    const start = async (service, overrides = {}) => {
      const launched = launch({ ...service.config, ...overrides })
      const port = await launched.ready
      if (port === undefined) throw new Error(`${service.name} did not start: ${launched.stderr()}`)
      Object.assign(service, { launched, port, epoch: service.epoch + 1 })
    }
    for (const service of services) await start(service)
    const loads = services.map((service) => new Load(service, caller, actor))
    const stats = async (service, flush = false) => (await get(service.port, `/_stats${flush ? '?flush' : ''}`)).body
    const fault = (service, mode) => get(service.port, `/_fault?sink=${mode}`)

    console.log(`meshguard soak: ${RATE} req/s per service (≤ ${INFLIGHT} in flight), ${PHASE_S} s per phase, core ${CORE}`)
    console.log(`audit ${JSON.stringify(AUDIT)}; jwks ${JSON.stringify(JWKS)}\n`)
    console.log('phase          service  answers  p50 ms  p99 ms  max ms  503s  skipped  rss MB  in doubt  written  failed')
    const accounting = []
    const phase = async (name, before = async () => {}, after = async () => {}) => {
      await before()
      for (const load of loads) load.phaseLatencies = []
      const answersBefore = loads.map((l) => l.answers.length)
      const skippedBefore = loads.map((l) => l.skipped)
      await sleep(PHASE_S * 1000)
      const result = {}
      for (const [i, service] of services.entries()) {
        const load = loads[i]
        const answers = load.answers.slice(answersBefore[i])
        const s = await stats(service)
        accounting.push({ phase: name, service: service.name, s })
        const file = fileSinkOf(s.stats)
        result[service.name] = { p99: percentile(load.phaseLatencies, 99), s }
        console.log(
          [name.padEnd(14), service.name.padEnd(7), String(answers.length).padStart(7), percentile(load.phaseLatencies, 50).toFixed(1).padStart(7),
            percentile(load.phaseLatencies, 99).toFixed(1).padStart(7), Math.max(0, ...load.phaseLatencies).toFixed(1).padStart(7),
            String(answers.filter((a) => a.status === 503).length).padStart(5), String(load.skipped - skippedBefore[i]).padStart(8),
            (s.rss / 2 ** 20).toFixed(0).padStart(7), String(file.inDoubt).padStart(9), String(file.written).padStart(8),
            String(file.failed).padStart(7)].join(' '),
        )
      }
      await after()
      return result
    }

    loads.forEach((load) => load.start())
    // First JWKS fetch, key imports, JIT: not the steady state the baseline stands for.
    await phase('warm-up')
    const baseline = await phase('baseline')
    const hung = await phase('jwks-hang', async () => jwks.state.setMode('hang'), async () => jwks.state.setMode('up'))
    await phase('jwks-down', async () => jwks.state.setMode('down'), async () => jwks.state.setMode('up'))
    await phase('audit-slow', () => Promise.all(services.map((s) => fault(s, 'slow'))))
    const auditHang = await phase('audit-hang', () => Promise.all(services.map((s) => fault(s, 'hang'))))
    await Promise.all(services.map((s) => fault(s, 'ok')))
    await phase('audit-recover')
    await phase('audit-fail', () => Promise.all(services.map((s) => fault(s, 'fail'))), () => Promise.all(services.map((s) => fault(s, 'ok'))))
    await phase('recover')

    // SIGKILL both services mid-traffic; what each had confirmed is on disk, the rest is bounded.
    const lastStats = await Promise.all(services.map((s) => stats(s)))
    const killedEpochs = services.map((s) => s.epoch)
    for (const service of services) {
      service.port = undefined
      service.launched.child.kill('SIGKILL')
      await service.launched.exit
    }
    // A restart on a broken policy directory fails with file and line and never listens.
    const broken = join(dir, 'broken-policies')
    cpSync(POLICY_DIR, broken, { recursive: true })
    const review = join(broken, 'resources/review.yaml')
    writeFileSync(review, readFileSync(review, 'utf8').replace(/expr: ".*"/, 'expr: "request.resource.attr.department == == 1"'))
    const brokenStart = launch({ ...services[0].config, policyDir: broken })
    const brokenPort = await brokenStart.ready
    const brokenExit = await brokenStart.exit
    check('a restart on a broken policy directory exits non-zero, never listening', brokenPort === undefined && brokenExit.code !== 0, `exit ${brokenExit.code}`)
    check('  ...and names the file and line', /resources\/review\.yaml:\d+/.test(brokenStart.stderr()), brokenStart.stderr().split('\n').find((l) => l.includes('review.yaml')) ?? brokenStart.stderr().slice(0, 200))
    for (const service of services) await start(service)
    await phase('restarted')
    loads.forEach((load) => load.stop())
    while (loads.some((l) => l.inFlight > 0)) await sleep(20)
    const final = await Promise.all(services.map((s) => stats(s, true)))

    console.log('\ninvariants:')
    check('a sink is never called before its previous call settled', final.every((s) => s.maxActive <= 1) && lastStats.every((s) => s.maxActive <= 1), `max concurrent calls ${Math.max(...final.map((s) => s.maxActive), ...lastStats.map((s) => s.maxActive))}`)
    check('records reach the file sink in the order they were recorded', final.every((s) => s.orderViolations === 0) && lastStats.every((s) => s.orderViolations === 0))
    const balanced = accounting.every(({ s }) => (s.stats.sinks ?? []).length > 0 && s.stats.sinks.every((k) => k.written + k.failed + k.inDoubt + k.shed + k.pending === s.stats.recorded))
    check('every phase: recorded = written + failed + in doubt + shed + pending, per sink', balanced)
    const hangClosed = auditHang.closed.s.stats.sinks?.[0]
    const hangOpen = auditHang.open.s.stats.sinks?.[0]
    check('a hung write is counted in doubt, not failed', (hangOpen?.inDoubt ?? 0) > 0 && hangOpen.failed === 0, `open: in doubt ${hangOpen?.inDoubt}, failed ${hangOpen?.failed}`)
    const recovered = accounting.find((a) => a.phase === 'audit-recover' && a.service === 'open')?.s.stats.sinks?.[0]
    check('...and written once it completes late; nothing stays in doubt', recovered !== undefined && recovered.inDoubt === 0 && recovered.written >= (hangOpen?.written ?? 0) + (hangOpen?.inDoubt ?? 0), `written ${hangOpen?.written} -> ${recovered?.written}`)
    check('the other sink keeps every record while the file sink hangs', (auditHang.open.s.stats.sinks?.[1]?.pending ?? 1) === 0 && auditHang.open.s.stats.dropped === 0)
    const closedAnswers = loads[1].answers
    check('fail-closed refuses within maxUnconfirmedMs of a hang (503 audit_unavailable)', closedAnswers.some((a) => a.status === 503 && a.reason === 'audit_unavailable'), `unconfirmed at phase end: ${hangClosed ? hangClosed.pending + hangClosed.inDoubt : '-'}`)
    const unexpected = loads.flatMap((l) => l.answers).filter((a) => a.status !== 200 && !(a.status === 503 && a.reason === 'audit_unavailable'))
    check('no answer but 200 or 503 audit_unavailable', unexpected.length === 0, unexpected.slice(0, 3).map((a) => `${a.status} ${a.reason}`).join(', '))
    check('fail-open never refuses', loads[0].answers.every((a) => a.status === 200))
    check('one JWKS refresh at a time per service', jwks.state.maxInFlight <= 1, `max ${jwks.state.maxInFlight}`)
    check(`p99 while the JWKS endpoint hangs stays below its fetch timeout (${JWKS.timeoutMs} ms)`, hung.open.p99 < JWKS.timeoutMs && hung.closed.p99 < JWKS.timeoutMs, `open ${hung.open.p99.toFixed(1)} ms, closed ${hung.closed.p99.toFixed(1)} ms; baseline ${baseline.open.p99.toFixed(1)} / ${baseline.closed.p99.toFixed(1)} ms`)
    check('no transport errors (but for requests cut by the SIGKILLs)', loads.every((l) => l.errors === 0), `errors ${loads.map((l) => l.errors)}; skipped at the in-flight cap ${loads.map((l) => l.skipped)}`)

    // Crash bounds, from the files.
    for (const [i, service] of services.entries()) {
      const lines = readFileSync(service.config.auditFile, 'utf8').split('\n')
      const torn = []
      const ids = new Set()
      let duplicates = 0
      for (const line of lines.slice(0, -1)) {
        try {
          const id = JSON.parse(line).callId
          if (ids.has(id)) duplicates++
          ids.add(id)
        } catch {
          torn.push(line)
        }
      }
      check(`${service.name}: whole lines, at most one torn per kill, no duplicates`, torn.length <= 1 && duplicates === 0 && lines.at(-1) === '', `torn ${torn.length}, duplicates ${duplicates}`)
      const beforeKill = loads[i].answers.filter((a) => a.epoch === killedEpochs[i])
      const served = beforeKill.filter((a) => a.status === 200)
      const missing = served.filter((a) => !ids.has(a.decisionId)).length
      const anyMissing = beforeKill.filter((a) => a.decisionId && !ids.has(a.decisionId)).length
      if (service.config.failClosed) {
        const bound = AUDIT.maxUnconfirmedRecords + INFLIGHT
        check(`closed: served requests without a record after SIGKILL ≤ maxUnconfirmedRecords + in flight (${bound})`, missing <= bound, `${missing} of ${served.length}, including writes that failed in audit-fail`)
      }
      // Records whose write failed (audit-fail) or that were dropped or shed are known losses, counted
      // before the kill; what the kill itself lost is the rest.
      const known = lastStats[i].stats
      const lostToCrash = anyMissing - fileSinkOf(known).failed - fileSinkOf(known).shed - known.dropped
      const bound = AUDIT.bufferSize + AUDIT.batchSize
      check(`${service.name}: records lost to SIGKILL ≤ bufferSize + batchSize (${bound})`, lostToCrash <= bound, `${lostToCrash} (answers without a record ${anyMissing}, known failed ${fileSinkOf(known).failed}, dropped ${known.dropped})`)
      const after = final[i].stats
      check(`${service.name}: after restart everything recorded is written`, fileSinkOf(after).written === after.recorded && fileSinkOf(after).inDoubt === 0, `${fileSinkOf(after).written}/${after.recorded}`)
    }
    const failed = checks.filter((c) => !c.ok)
    console.log(`\n${checks.length - failed.length}/${checks.length} invariants held`)
    for (const service of services) service.launched.child.kill('SIGTERM')
    await Promise.all(services.map((s) => s.launched.exit))
    jwks.state.setMode('up')
    jwks.server.close()
    agent.destroy()
    process.exitCode = failed.length === 0 ? 0 : 1
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

if (process.argv[2] === 'service') await runService()
else await runSoak()
