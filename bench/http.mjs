// HTTP benchmark of the adapters: bare framework vs framework + meshguard vs the closest one-token peer,
// on loopback, with autocannon. Usage: `pnpm bench:http` (builds first, then runs this file).
//
// Method (see /work/shared/research/peer-baselines.md): every server runs in its own process on
// 127.0.0.1 with NODE_ENV=production; autocannon runs in another process (10 connections, a warm-up
// in two runs, i.e. two sets of connections, then the measured window on a third). Rounds are
// interleaved: each framework's variants run back to back, in
// an order that rotates each round, and the frameworks take turns to go first; ratios are paired
// (auth ÷ bare of the same framework in the same round), then the median over rounds is printed.
// Latency percentiles come from the float latency of every 2xx response (autocannon's own histogram
// stores whole milliseconds). Server CPU µs/req = Δ(utime+stime) of the server process over the
// measured window ÷ 2xx responses.
//
// Variants per framework (Express 5, Fastify 5):
//   bare       hello world
//   meshguard  workload token + actor token (same two tokens on every request: verification cache
//              warm), embedded engine with the seed review policy (CEL condition), audit log (noop
//              sink), telemetry (no SDK: no-op spans)
//   fresh      as meshguard, but a NEW workload token on every request (cache miss, signature check;
//              the actor token is the same user session token, bound by `ath` to each workload token)
//   peer       express-oauth2-jwt-bearer (JWKS over loopback) / @fastify/jwt, verifying one ES256 token
//   txn        Txn-Token mode: as meshguard, with a Txn-Token (`Txn-Token` header) instead of the actor
//              token, bound to the workload token by `txn` and `tth` (same two tokens: cache warm)
//   txnfresh   as txn, but a NEW workload token on every request (the same Txn-Token, bound to each)
//
// Env: BENCH_ROUNDS (5), BENCH_WARMUP_S (3), BENCH_DURATION_S (10), BENCH_CONNECTIONS (10),
//      BENCH_VARIANTS (comma list, default all).
//
// `node bench/http.mjs pair A B` (e.g. `pair express-bare express-meshguard`): runs the two servers AT
// THE SAME TIME, pinned together to CPU 0 with their loads on CPU 1 (when `taskset` exists), and
// prints B's req/s ÷ A's per round, also per CPU second (each server's requests over its own CPU
// ticks: the inverse ratio of their CPU per request, even when the scheduler splits the core
// unevenly, which it does by up to ±5 %). Whatever else the machine does hits both alike: on a
// shared, drifting machine it resolves differences of a few per cent that back-to-back runs cannot
// (`pair A A` per CPU second: 0.986–1.012 here; the plain ratio gave 0.99–1.19). Sides swap every round.
//
// `node bench/http.mjs instructions A [B ...]`: instructions per request of each variant's server under
// valgrind's callgrind (deterministic to about 0.5 %; see instructionsOf). Env: BENCH_IR_WARMUP
// (45000 requests, over three connection sets), BENCH_IR_REQUESTS (10000), BENCH_IR_KEEP (keep the callgrind dumps). Needs valgrind.
import { spawn, spawnSync } from 'node:child_process'
import { createHash, createPrivateKey, generateKeyPairSync, randomUUID, sign } from 'node:crypto'
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { Agent, createServer, get as httpGet } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { createInterface } from 'node:readline'

const SELF = fileURLToPath(import.meta.url)
const ROOT = fileURLToPath(new URL('..', import.meta.url))
const POLICY_DIR = join(ROOT, 'examples/policies')

const TRUST_DOMAIN = 'example.org'
const CALLER_ID = `spiffe://${TRUST_DOMAIN}/ns/hr/sa/employee-service`
const SERVICE_ID = `spiffe://${TRUST_DOMAIN}/ns/hr/sa/review-service`
const USER_ISSUER = 'https://idp.example.org'
const ACTOR_AUDIENCE = 'meshguard'
const ACTOR_HEADER = 'x-meshguard-actor'

const VARIANTS = [
  'express-bare', 'express-meshguard', 'express-fresh', 'express-peer', 'express-txn', 'express-txnfresh',
  'fastify-bare', 'fastify-meshguard', 'fastify-fresh', 'fastify-peer', 'fastify-txn', 'fastify-txnfresh',
]

// ---------------------------------------------------------------------------------------------
// Tokens: ES256 signed with node:crypto (independent of the code under test).

const b64 = (value) => Buffer.from(JSON.stringify(value)).toString('base64url')

// Parsed once per PEM: the fresh variant signs tens of thousands of tokens before it starts.
const privateKeys = new Map()

function jwt(privateKeyPem, kid, typ, claims) {
  const input = `${b64({ alg: 'ES256', kid, typ })}.${b64(claims)}`
  let key = privateKeys.get(privateKeyPem)
  if (key === undefined) privateKeys.set(privateKeyPem, (key = createPrivateKey(privateKeyPem)))
  const signature = sign('sha256', Buffer.from(input), { key, dsaEncoding: 'ieee-p1363' })
  return `${input}.${signature.toString('base64url')}`
}

const now = () => Math.floor(Date.now() / 1000)

function actorToken(config) {
  return jwt(config.user.privatePem, config.user.kid, 'at+jwt', {
    iss: USER_ISSUER, sub: 'alice', aud: ACTOR_AUDIENCE, iat: now(), exp: now() + 3000, jti: randomUUID(),
    roles: ['employee', 'manager'], department: 'engineering',
  })
}

function workloadToken(config, actor) {
  return jwt(config.caller.privatePem, config.caller.kid, 'workload+jwt', {
    iss: CALLER_ID, sub: CALLER_ID, aud: SERVICE_ID, iat: now(), exp: now() + 600, jti: randomUUID(),
    ath: createHash('sha256').update(actor).digest('base64url'),
  })
}

function txnToken(config) {
  return jwt(config.tts.privatePem, config.tts.kid, 'txntoken+jwt', {
    aud: TRUST_DOMAIN, sub: 'alice', iat: now(), exp: now() + 290, txn: randomUUID(), scope: 'review.read',
    req_wl: `spiffe://${TRUST_DOMAIN}/ns/edge/sa/gateway`,
    tctx: { user: { roles: ['employee', 'manager'], attr: { department: 'engineering' } } }, rctx: { transport: 'https' },
  })
}

function boundWorkloadToken(config, txn) {
  const claims = JSON.parse(Buffer.from(txn.split('.')[1], 'base64url').toString('utf8'))
  return jwt(config.caller.privatePem, config.caller.kid, 'workload+jwt', {
    iss: CALLER_ID, sub: CALLER_ID, aud: SERVICE_ID, iat: now(), exp: claims.exp, jti: randomUUID(),
    txn: claims.txn, tth: createHash('sha256').update(txn).digest('base64url'),
  })
}

function keyPair(kid) {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' })
  return {
    kid,
    privatePem: privateKey.export({ format: 'pem', type: 'pkcs8' }),
    publicPem: publicKey.export({ format: 'pem', type: 'spki' }),
    publicJwk: { ...publicKey.export({ format: 'jwk' }), kid, alg: 'ES256', use: 'sig' },
  }
}

// ---------------------------------------------------------------------------------------------
// Servers (one per process).

const HELLO = { hello: 'world' }

async function meshguardGuard(config) {
  const core = await import(join(ROOT, 'packages/core/dist/index.js'))
  const engine = await core.EmbeddedEngine.fromDirectory(POLICY_DIR)
  const identity = core.createIdentityVerifier({
    audience: SERVICE_ID,
    trust: {
      workloads: [{ issuer: CALLER_ID, keys: { jwks: { keys: [config.caller.publicJwk] } } }],
      actors: [{ issuer: USER_ISSUER, keys: { jwks: { keys: [config.user.publicJwk] } }, audiences: [ACTOR_AUDIENCE] }],
      txnTokens: { trustDomain: TRUST_DOMAIN, keys: { jwks: { keys: [config.tts.publicJwk] } } },
    },
  })
  const audit = core.createAuditLog({ sinks: [{ name: 'noop', write: async () => {} }] })
  return core.createGuard({ engine, identity, service: 'review-service', audit, telemetry: core.createTelemetry() })
}

const reviewOf = (id) => ({ kind: 'review', id, attr: { department: 'engineering' } })

async function startServer(variant, config) {
  const [framework, kind] = variant.split('-')
  if (framework === 'express') {
    const { default: express } = await import('express')
    const app = express()
    const hello = (_req, res) => res.json(HELLO)
    if (kind === 'bare') app.get('/reviews/:id', hello)
    else if (kind === 'peer') {
      const { auth } = await import('express-oauth2-jwt-bearer')
      app.get('/reviews/:id', auth({ issuer: USER_ISSUER, audience: ACTOR_AUDIENCE, jwksUri: config.jwksUri, tokenSigningAlg: 'ES256' }), hello)
    } else {
      const { authorize } = await import(join(ROOT, 'packages/express/dist/index.js'))
      const guard = await meshguardGuard(config)
      app.get('/reviews/:id', authorize(guard, { resource: (req) => reviewOf(req.params.id), action: 'read', actor: 'required' }), hello)
    }
    return new Promise((resolve) => {
      const server = app.listen(0, '127.0.0.1', () => resolve(server.address().port))
    })
  }
  const { default: Fastify } = await import('fastify')
  const app = Fastify({ logger: false })
  const hello = async () => HELLO
  if (kind === 'bare') app.get('/reviews/:id', hello)
  else if (kind === 'peer') {
    const { default: fastifyJwt } = await import('@fastify/jwt')
    await app.register(fastifyJwt, {
      secret: { public: config.user.publicPem },
      verify: { algorithms: ['ES256'], allowedIss: USER_ISSUER, allowedAud: ACTOR_AUDIENCE },
    })
    app.addHook('onRequest', async (request) => {
      await request.jwtVerify()
    })
    app.get('/reviews/:id', hello)
  } else {
    const { meshguard } = await import(join(ROOT, 'packages/fastify/dist/index.js'))
    await app.register(meshguard, { guard: await meshguardGuard(config) })
    app.get('/reviews/:id', { config: { meshguard: { resource: (req) => reviewOf(req.params.id), action: 'read', actor: 'required' } } }, hello)
  }
  await app.listen({ port: 0, host: '127.0.0.1' })
  return app.server.address().port
}

// ---------------------------------------------------------------------------------------------
// Load (one process per run).

function headerSets(variant, config, count) {
  const [, kind] = variant.split('-')
  if (kind === 'bare') return [{}]
  if (kind === 'txn' || kind === 'txnfresh') {
    const txn = txnToken(config)
    const sets = []
    for (let i = 0; i < (kind === 'txn' ? 1 : count); i++) sets.push({ authorization: `Bearer ${boundWorkloadToken(config, txn)}`, 'txn-token': txn })
    return sets
  }
  const actor = actorToken(config)
  if (kind === 'peer') return [{ authorization: `Bearer ${actor}` }]
  if (kind === 'meshguard') return [{ authorization: `Bearer ${workloadToken(config, actor)}`, [ACTOR_HEADER]: actor }]
  // fresh: enough distinct workload tokens that none repeats within the verifier cache's reach.
  const sets = []
  for (let i = 0; i < count; i++) sets.push({ authorization: `Bearer ${workloadToken(config, actor)}`, [ACTOR_HEADER]: actor })
  return sets
}

/**
 * Headers for request i, minted as they are needed and re-minted once a minute: under valgrind a run
 * outlasts every token's lifetime (a Txn-Token's is under 300 s), so a pool minted up front expires
 * midway (a 401). The warm variants get a new token pair once a minute (one cache miss per minute).
 */
function headerSource(variant, config) {
  const [, kind] = variant.split('-')
  const fresh = kind === 'fresh' || kind === 'txnfresh'
  let mintedAt = -Infinity
  let pool = [{}]
  return () => {
    if (kind === 'bare') return pool[0]
    if (Date.now() - mintedAt > 60_000) {
      pool = headerSets(variant, config, 1)
      mintedAt = Date.now()
    }
    if (!fresh) return pool[0]
    const base = pool[0]
    if (kind === 'fresh') return { ...base, authorization: `Bearer ${workloadToken(config, base[ACTOR_HEADER])}` }
    return { ...base, authorization: `Bearer ${boundWorkloadToken(config, base['txn-token'])}` }
  }
}

async function runLoad(variant, config, url, warmupS, durationS, connections) {
  const { default: autocannon } = await import('autocannon')
  // ~ upper bound of requests in the window; the verifier caches 10k entries, so a larger pool never hits.
  const sets = headerSets(variant, config, 60_000)
  let next = 0
  const requests = [{ method: 'GET', path: '/reviews/r1', setupRequest: (req) => ({ ...req, headers: sets[next++ % sets.length] }) }]
  const run = (seconds, onResponse) =>
    new Promise((resolve, reject) => {
      const instance = autocannon({ url, connections, duration: seconds, requests }, (err, result) => (err ? reject(err) : resolve(result)))
      if (onResponse) instance.on('response', onResponse)
    })
  // Two warm-up runs, i.e. two sets of connections: V8 deoptimises and recompiles much of Node's HTTP
  // path when a server's second set of sockets arrives; measured from the third set on, a server is in
  // its steady state (as one that has served for a while is).
  await run(warmupS / 2)
  await run(warmupS / 2)
  const latencies = []
  let ok = 0
  let bad = 0
  process.stdout.write('measure-start\n')
  const result = await run(durationS, (_client, status, _bytes, ms) => {
    if (status >= 200 && status < 300) {
      ok++
      latencies.push(ms)
    } else bad++
  })
  process.stdout.write('measure-end\n')
  latencies.sort((a, b) => a - b)
  const pct = (p) => latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))] ?? NaN
  process.stdout.write(
    `${JSON.stringify({ rps: ok / durationS, p50: pct(50), p99: pct(99), ok, bad: bad + result.errors + result.timeouts, fresh: sets.length })}\n`,
  )
}

// ---------------------------------------------------------------------------------------------
// Orchestration.

function cpuTicks(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  return Number(fields[11]) + Number(fields[12]) // utime + stime (fields 14, 15 of the full line)
}

function lines(child) {
  const rl = createInterface({ input: child.stdout })
  const queue = []
  const waiters = []
  rl.on('line', (line) => (waiters.length > 0 ? waiters.shift()(line) : queue.push(line)))
  return () => (queue.length > 0 ? Promise.resolve(queue.shift()) : new Promise((resolve) => waiters.push(resolve)))
}

function node(args, cpu) {
  const command = cpu === undefined ? [process.execPath, SELF, ...args] : ['taskset', '-c', String(cpu), process.execPath, SELF, ...args]
  // taskset execs the command: the child's pid is the server's (for its CPU ticks).
  return spawn(command[0], command.slice(1), { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, NODE_ENV: 'production' } })
}

async function measure(variant, configPath, settings) {
  const server = await startMeasured(variant, configPath)
  try {
    const load = startLoad(variant, configPath, server.url, settings)
    await load.until('measure-start')
    const ticksBefore = cpuTicks(server.pid)
    await load.until('measure-end')
    const ticksAfter = cpuTicks(server.pid)
    const result = await load.result()
    // Clock ticks are 10 ms (USER_HZ 100).
    return { ...result, cpuUs: result.ok > 0 ? ((ticksAfter - ticksBefore) * 10_000) / result.ok : NaN }
  } finally {
    await server.stop()
  }
}

/** Settings from the environment (see the header). */
function settingsFromEnv() {
  return {
    rounds: Number(process.env.BENCH_ROUNDS ?? 5),
    warmupS: Number(process.env.BENCH_WARMUP_S ?? 3),
    durationS: Number(process.env.BENCH_DURATION_S ?? 10),
    connections: Number(process.env.BENCH_CONNECTIONS ?? 10),
  }
}

/** Runs `fn` with a fresh key configuration on disk and the peer's JWKS served on loopback. */
async function withConfig(fn) {
  const config = { caller: keyPair('employee-service-1'), user: keyPair('idp-1'), tts: keyPair('tts-1') }
  // express-oauth2-jwt-bearer fetches its JWKS over HTTP: served here, on loopback, fetched once.
  const jwks = createServer((_req, res) => res.setHeader('content-type', 'application/json').end(JSON.stringify({ keys: [config.user.publicJwk] })))
  await new Promise((resolve) => jwks.listen(0, '127.0.0.1', resolve))
  config.jwksUri = `http://127.0.0.1:${jwks.address().port}/jwks.json`
  const configPath = join(tmpdir(), `meshguard-bench-http-${process.pid}.json`)
  writeFileSync(configPath, JSON.stringify(config))
  try {
    return await fn(configPath)
  } finally {
    jwks.close()
    rmSync(configPath, { force: true })
  }
}

/** Starts a server (optionally pinned), waits for its port and checks it answers 200. */
async function startMeasured(variant, configPath, cpu) {
  const server = node(['server', variant, configPath], cpu)
  const exited = new Promise((resolve) => server.once('exit', resolve))
  const stop = () => (server.kill('SIGTERM'), exited)
  try {
    const port = Number(await lines(server)())
    const url = `http://127.0.0.1:${port}`
    const probe = await fetch(`${url}/reviews/r1`, { headers: headerSets(variant, JSON.parse(readFileSync(configPath, 'utf8')), 1)[0] })
    if (probe.status !== 200) throw new Error(`${variant}: probe answered ${probe.status}: ${await probe.text()}`)
    return { url, pid: server.pid, stop }
  } catch (err) {
    await stop()
    throw err
  }
}

/** A load process, read line by line: `until(marker)` waits for a marker, `result()` for the last line. */
function startLoad(variant, configPath, url, settings, cpu) {
  const load = node(['load', variant, configPath, url, String(settings.warmupS), String(settings.durationS), String(settings.connections)], cpu)
  const exited = new Promise((resolve) => load.once('exit', resolve))
  const next = lines(load)
  return {
    async until(marker) {
      let line = await next()
      while (line !== marker) line = await next()
    },
    async result() {
      const result = JSON.parse(await next())
      await exited
      return result
    },
  }
}

/**
 * Both servers at once: shared CPU 0, loads on CPU 1 (unpinned without taskset). Also returns how
 * busy the servers kept their core and each server's CPU ticks: a ratio only compares server costs
 * when they, not the loads, were the bottleneck, and the ticks correct for an uneven split of the core.
 */
async function measurePair(a, b, configPath, settings, pin) {
  const servers = []
  try {
    for (const variant of [a, b]) servers.push(await startMeasured(variant, configPath, pin ? 0 : undefined))
    const loads = [a, b].map((v, i) => startLoad(v, configPath, servers[i].url, settings, pin ? 1 : undefined))
    await Promise.all(loads.map((l) => l.until('measure-start')))
    const ticksBefore = servers.map((s) => cpuTicks(s.pid))
    const t0 = performance.now()
    await Promise.all(loads.map((l) => l.until('measure-end')))
    const [ta, tb] = servers.map((s, i) => cpuTicks(s.pid) - (ticksBefore[i] ?? 0))
    const busy = ((ta + tb) * 10) / (performance.now() - t0)
    const [ra, rb] = await Promise.all(loads.map((l) => l.result()))
    return { ra, rb, busy, ticksA: ta, ticksB: tb }
  } finally {
    await Promise.all(servers.map((s) => s.stop()))
  }
}

async function pairMain(a, b) {
  if (!VARIANTS.includes(a) || !VARIANTS.includes(b)) throw new Error(`pair needs two of: ${VARIANTS.join(', ')}`)
  const settings = settingsFromEnv()
  const pin = spawnSync('taskset', ['-c', '0', 'true']).status === 0
  console.log(`bench:http pair  ${a} vs ${b}  node ${process.version}  rounds=${settings.rounds} duration=${settings.durationS}s  ${pin ? 'servers on CPU 0, loads on CPU 1' : 'unpinned (no taskset)'}`)
  const ratios = []
  const cpuRatios = []
  let busiest = Infinity
  await withConfig(async (configPath) => {
    for (let round = 0; round < settings.rounds; round++) {
      // Swap sides every round: neither server always starts first.
      const swapped = round % 2 === 1
      const pair = await measurePair(swapped ? b : a, swapped ? a : b, configPath, settings, pin)
      const [ra, rb] = swapped ? [pair.rb, pair.ra] : [pair.ra, pair.rb]
      const [ticksA, ticksB] = swapped ? [pair.ticksB, pair.ticksA] : [pair.ticksA, pair.ticksB]
      const shareB = ticksB / (ticksA + ticksB)
      // Requests per CPU tick: the scheduler does not always split the core evenly (45–55 % seen).
      const perCpu = rb.rps / ticksB / (ra.rps / ticksA)
      ratios.push(rb.rps / ra.rps)
      cpuRatios.push(perCpu)
      busiest = Math.min(busiest, pair.busy)
      console.log(
        `  round ${round + 1}  ${a} ${fmt(ra.rps)} req/s  ${b} ${fmt(rb.rps)} req/s  ratio ${fmt(rb.rps / ra.rps, 3)}` +
          `  per CPU second ${fmt(perCpu, 3)}  servers' core ${fmt(pair.busy * 100)}% busy, ${fmt(shareB * 100)}% of it ${b}`,
      )
    }
  })
  const range = (values) => {
    const sorted = [...values].sort((x, y) => x - y)
    return `${fmt(sorted[0], 3)}–${fmt(sorted.at(-1), 3)}`
  }
  console.log(`\n${b} ÷ ${a} (same moment, shared core): median ${fmt(median(ratios), 3)}  range ${range(ratios)}`)
  console.log(`${b} ÷ ${a} per CPU second (each server's requests over its own CPU time): median ${fmt(median(cpuRatios), 3)}  range ${range(cpuRatios)}`)
  // Below ~90% the loads were the bottleneck (e.g. two Fastify servers outrun two autocannons on one core).
  if (pin && busiest < 0.9) console.log(`warning: the servers' core was only ${fmt(busiest * 100)}% busy in some round: the loads were the bottleneck, so the ratio does not compare server costs`)
}

// ---------------------------------------------------------------------------------------------
// Instructions per request (`pnpm bench:http:instructions A B`): each server runs under valgrind's
// callgrind with V8 single-threaded (compilation and GC on the one thread, so their work is counted
// too), a warm-up is sent uninstrumented, then instrumentation is switched on for a fixed number of
// requests. Counts repeat within about 0.5 % between runs, where wall-clock ratios on a shared
// machine drift by ±15 %, so this is the tool to compare two builds or two variants. It is not a
// throughput prediction: valgrind counts no kernel time (most of a Fastify request: 42 % more
// instructions cost Fastify 5–10 % of its throughput here), and instructions do not cost alike
// (Express's code footprint already overflows the instruction cache: 11 % more instructions cost it
// about 18 % more time).

/** Runs `command` and returns its status (null when it could not start). */
const runs = (command, args) => spawnSync(command, args, { stdio: 'ignore' }).status

/** Sends `count` GETs over `connections` keep-alive connections (`headersAt(i)` gives request i its headers); rejects on a non-200. */
async function drive(url, headersAt, first, count, connections) {
  const agent = new Agent({ keepAlive: true, maxSockets: connections })
  let left = count
  let next = first
  const one = () =>
    new Promise((resolve, reject) => {
      const req = httpGet(`${url}/reviews/r1`, { agent, headers: headersAt(next++) }, (res) => {
        res.resume()
        res.on('end', () => (res.statusCode === 200 ? resolve() : reject(new Error(`status ${res.statusCode}`))))
      })
      req.on('error', reject)
    })
  const worker = async () => {
    while (left-- > 0) await one()
  }
  try {
    await Promise.all(Array.from({ length: connections }, worker))
  } finally {
    agent.destroy()
  }
}

/** Instructions per request of one variant's server (all its threads), after a warm-up. */
async function instructionsOf(variant, configPath, warmup, requests) {
  const outDir = join(tmpdir(), `meshguard-bench-ir-${process.pid}-${variant}`)
  rmSync(outDir, { recursive: true, force: true })
  mkdirSync(outDir)
  const server = spawn(
    'valgrind',
    ['--tool=callgrind', '--instr-atstart=no', '--smc-check=all-non-file', `--callgrind-out-file=${join(outDir, 'cg.%p')}`,
      process.execPath, '--single-threaded', SELF, 'server', variant, configPath],
    { stdio: ['ignore', 'pipe', 'ignore'], env: { ...process.env, NODE_ENV: 'production' } },
  )
  const exited = new Promise((resolve) => server.once('exit', resolve))
  try {
    const url = `http://127.0.0.1:${Number(await lines(server)())}`
    const config = JSON.parse(readFileSync(configPath, 'utf8'))
    const headersAt = headerSource(variant, config)
    // Warm-up over three connection sets: V8 deoptimises and recompiles much of Node's HTTP path when
    // the second set of sockets arrives, and that wave of compilation would otherwise land in the count.
    for (let part = 0; part < 3; part++) await drive(url, headersAt, Math.floor((part * warmup) / 3), Math.floor(warmup / 3), 4)
    if (runs('callgrind_control', ['-i', 'on', String(server.pid)]) !== 0) throw new Error('callgrind_control could not switch instrumentation on')
    await drive(url, headersAt, warmup, requests, 4)
    runs('callgrind_control', ['-d', String(server.pid)])
    runs('callgrind_control', ['-i', 'off', String(server.pid)])
    const dump = readdirSync(outDir).find((f) => f.endsWith('.1'))
    if (dump === undefined) throw new Error('callgrind wrote no dump')
    const summary = /^(?:summary|totals): (\d+)/m.exec(readFileSync(join(outDir, dump), 'utf8'))
    if (summary === null) throw new Error('callgrind dump without a summary line')
    if (process.env.BENCH_IR_KEEP) console.log(`    callgrind dump kept: ${join(outDir, dump)} (callgrind_annotate it)`)
    return Number(summary[1]) / requests
  } finally {
    server.kill('SIGTERM')
    await exited
    if (!process.env.BENCH_IR_KEEP) rmSync(outDir, { recursive: true, force: true })
  }
}

async function instructionsMain(variants) {
  const unknown = variants.filter((v) => !VARIANTS.includes(v))
  if (variants.length === 0 || unknown.length > 0) throw new Error(`instructions needs variants among: ${VARIANTS.join(', ')}`)
  if (runs('valgrind', ['--version']) !== 0 || runs('callgrind_control', ['--version']) !== 0) {
    throw new Error('instructions needs valgrind and callgrind_control on the PATH (Debian/Ubuntu: apt install valgrind)')
  }
  const warmup = Number(process.env.BENCH_IR_WARMUP ?? 45_000)
  const requests = Number(process.env.BENCH_IR_REQUESTS ?? 10_000)
  console.log(`bench:http instructions  node ${process.version}  warm-up ${warmup} requests, then ${requests} counted (callgrind, V8 single-threaded)`)
  const counts = []
  await withConfig(async (configPath) => {
    for (const variant of variants) {
      const perRequest = await instructionsOf(variant, configPath, warmup, requests)
      counts.push(perRequest)
      const vsFirst = counts.length > 1 ? `  ${fmt(perRequest / counts[0], 3)}× ${variants[0]}` : ''
      console.log(`  ${variant.padEnd(18)} ${fmt(perRequest / 1000, 1).padStart(8)} k instructions/request${vsFirst}`)
    }
  })
}

const median = (values) => {
  const sorted = values.filter((v) => Number.isFinite(v)).sort((a, b) => a - b)
  if (sorted.length === 0) return NaN
  const mid = Math.floor(sorted.length / 2)
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2
}

const fmt = (v, digits = 0) => (Number.isFinite(v) ? v.toFixed(digits) : '—')

/**
 * The order of one round: each framework's variants run back to back (so a ratio's two sides are
 * measured minutes apart at most, not a whole round), their order rotating every round, and the
 * frameworks taking turns to go first.
 */
function roundOrder(variants, round) {
  const frameworks = [...new Set(variants.map((v) => v.split('-')[0]))]
  if (round % 2 === 1) frameworks.reverse()
  return frameworks.flatMap((fw) => {
    const group = variants.filter((v) => v.startsWith(`${fw}-`))
    return group.map((_, i) => group[(i + round) % group.length])
  })
}

async function orchestrate() {
  const settings = settingsFromEnv()
  const variants = process.env.BENCH_VARIANTS ? process.env.BENCH_VARIANTS.split(',') : VARIANTS
  console.log(`bench:http  node ${process.version}  rounds=${settings.rounds} warmup=${settings.warmupS}s duration=${settings.durationS}s connections=${settings.connections}`)
  const results = Object.fromEntries(variants.map((v) => [v, []]))
  await withConfig(async (configPath) => {
    for (let round = 0; round < settings.rounds; round++) {
      const order = roundOrder(variants, round)
      for (const variant of order) {
        const r = await measure(variant, configPath, settings)
        results[variant][round] = r
        console.log(`  round ${round + 1} ${variant.padEnd(18)} ${fmt(r.rps).padStart(6)} req/s  p50 ${fmt(r.p50, 2)} ms  p99 ${fmt(r.p99, 2)} ms  cpu ${fmt(r.cpuUs, 1)} µs/req  non-2xx/errors ${r.bad}`)
      }
    }
  })

  console.log('\nvariant             req/s (median)   p50 ms   p99 ms   server CPU µs/req')
  for (const v of variants) {
    const rs = results[v]
    console.log(`${v.padEnd(20)}${fmt(median(rs.map((r) => r.rps))).padStart(14)}${fmt(median(rs.map((r) => r.p50)), 2).padStart(9)}${fmt(median(rs.map((r) => r.p99)), 2).padStart(9)}${fmt(median(rs.map((r) => r.cpuUs)), 1).padStart(20)}`)
  }
  const ratio = (a, b) => median(results[a]?.map((r, i) => r.rps / results[b]?.[i]?.rps) ?? [])
  const targets = { express: 0.9, fastify: 0.75 }
  console.log('\npaired req/s ratios (median over rounds)')
  for (const fw of ['express', 'fastify']) {
    if (!results[`${fw}-bare`]) continue
    const mg = ratio(`${fw}-meshguard`, `${fw}-bare`)
    const fresh = ratio(`${fw}-fresh`, `${fw}-bare`)
    const peer = ratio(`${fw}-peer`, `${fw}-bare`)
    console.log(`  ${fw}: meshguard/bare ${fmt(mg, 2)} (target ≥ ${targets[fw]})  fresh/bare ${fmt(fresh, 2)}  peer/bare ${fmt(peer, 2)}  fresh/peer ${fmt(ratio(`${fw}-fresh`, `${fw}-peer`), 2)} (target > 1)`)
    console.log(`  ${fw}: txn/meshguard ${fmt(ratio(`${fw}-txn`, `${fw}-meshguard`), 2)}  txnfresh/fresh ${fmt(ratio(`${fw}-txnfresh`, `${fw}-fresh`), 2)} (Txn-Token hop vs access-token hop; target ≥ 1)`)
  }
}

// ---------------------------------------------------------------------------------------------

const [mode, variant, configPath, ...rest] = process.argv.slice(2)
if (mode === 'server') {
  const port = await startServer(variant, JSON.parse(readFileSync(configPath, 'utf8')))
  process.stdout.write(`${port}\n`)
  process.once('SIGTERM', () => process.exit(0))
} else if (mode === 'pair') {
  await pairMain(variant, configPath)
} else if (mode === 'instructions') {
  await instructionsMain(process.argv.slice(3))
} else if (mode === 'load') {
  const [url, warmupS, durationS, connections] = rest
  await runLoad(variant, JSON.parse(readFileSync(configPath, 'utf8')), url, Number(warmupS), Number(durationS), Number(connections))
} else {
  await orchestrate()
}
