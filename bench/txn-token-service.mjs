// Benchmark of the Txn-Token Service: token issuance under concurrent load from a real HTTP client
// (autocannon) on loopback, beside oidc-provider's own `client_credentials` grant on the same machine,
// in the same run. Usage: `pnpm bench:tts` (builds first, then runs this file).
//
// Both servers run in their own process on 127.0.0.1 (NODE_ENV=production) and do comparable work
// per request: verify a private_key_jwt client assertion (a fresh one per request, single-use jti,
// EdDSA workload key) and sign a JWT (ES256). The TTS also verifies the subject access token (ES256),
// evaluates the shipped issuance policy in the embedded engine and writes an audit record (noop sink).
// oidc-provider registers the workload as a private_key_jwt client and issues `at+jwt` access tokens
// for one resource server (its default memory adapter keeps the replay records of assertions).
//
// Two loads per server, rounds interleaved (TTS, then oidc-provider, order swapped each round):
//   rate   a steady 1,000 requests/s, open loop (each request due at its own moment, latency counted
//          from then: see token-load.mjs `paced`) for the target "p99 < 10 ms at 1,000 tokens/s"
//   max    as fast as 10 connections go: throughput, and the server's CPU time per token (its
//          process.cpuUsage over the window ÷ answers: the figure least disturbed by other load)
// Latency percentiles come from the float latency of every 2xx response. Non-2xx answers are counted
// and reported (there should be none). Beside the end-to-end latency, each server reports the time
// requests spent inside it (arrival to last byte, its p99 at the fixed rate). A fourth server that
// does nothing (reads the form, answers a fixed body) gives this machine's floor under the same
// load: on a small shared VM, pauses of the whole machine (10-25 ms, about once a second here) hold
// up every request queued meanwhile, and that floor says how much of a p99 they account for.
//
// Env: BENCH_ROUNDS (3), BENCH_WARMUP_S (3), BENCH_DURATION_S (10), BENCH_CONNECTIONS (10, max mode), BENCH_RATE (1000),
// BENCH_FRESH_SUBJECT=1 (a new subject access token per request instead of one user's token again
// and again: every subject signature is then checked, none is remembered).
//
// Before/after on a shared machine: BENCH_BASELINE=<another checkout, built> adds a third server,
// "base", the TTS from that checkout, in the same interleaved rounds; the summary then gives the
// paired ratios this ÷ base per round (noise from other load hits both sides of a pair alike).
// BENCH_SHARED_STATE=redis gives this build's TTS (not the baseline) `sharedState` in a private
// redis-server on loopback (scripts/redis-server.mjs): the cost of sharing state between replicas.
// BENCH_SKIP_OIDC=1 leaves oidc-provider out. BENCH_PROFILE_DIR=<dir> runs the servers under
// `node --cpu-prof` and writes their profiles there.
//
// `node bench/txn-token-service.mjs compare` (with BENCH_BASELINE): both builds' services in this
// one process, no HTTP, exchanges called one at a time in alternating batches (BENCH_BATCHES (30)
// of BENCH_BATCH (200)); prints the median time per exchange of each and their ratio. On a shared
// machine this is the steadiest before/after figure: load that drifts hits neighbouring batches alike.
import { spawn } from 'node:child_process'
import { generateKeyPairSync, randomUUID } from 'node:crypto'
import { createServer } from 'node:http'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath, URLSearchParams } from 'node:url'
import { startRedisServer } from '../scripts/redis-server.mjs'
import { jws, load, median } from './token-load.mjs'

const SELF = fileURLToPath(import.meta.url)
const ROOT = fileURLToPath(new URL('..', import.meta.url))
const TRUST_DOMAIN = 'example.org'
const GATEWAY = `spiffe://${TRUST_DOMAIN}/ns/edge/sa/gateway`
const SUBJECT_ISSUER = 'https://idp.example.org'
const API = 'https://api.example.org'
const TOKEN_EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange'
const TXN_TOKEN = 'urn:ietf:params:oauth:token-type:txn_token'
const ACCESS_TOKEN = 'urn:ietf:params:oauth:token-type:access_token'
const JWT_BEARER = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer'

const now = () => Math.floor(Date.now() / 1000)

// ---------------------------------------------------------------------------------------------
// Servers (child processes).

/** Time each request spent in the server, ms (from its arrival to its last byte written). */
const serverTimes = []

async function listen(handler) {
  const server = createServer((req, res) => {
    const start = process.hrtime.bigint()
    res.once('finish', () => serverTimes.push(Number(process.hrtime.bigint() - start) / 1e6))
    handler.current(req, res)
  })
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
  return `http://127.0.0.1:${server.address().port}`
}

async function serveTts(config, root) {
  const handler = { current: null }
  const url = await listen(handler)
  const service = await createTts(config, root, url)
  handler.current = service.handler
  return { url, tokenEndpoint: service.tokenEndpoint }
}

/** The service of the build in `root`, as the benchmark configures it. */
async function createTts(config, root, url) {
  const { EmbeddedEngine, createAuditLog, functionSink } = await import(join(root, 'packages/core/dist/index.js'))
  const { createTxnTokenService } = await import(join(root, 'packages/txn-token-service/dist/index.js'))
  const { createPrivateKey } = await import('node:crypto')
  const sharedState = config.redisUrl !== undefined && root === ROOT ? await redisSharedStateOf(config.redisUrl) : undefined
  return createTxnTokenService({
    ...(sharedState === undefined ? {} : { sharedState }),
    issuer: url,
    trustDomain: TRUST_DOMAIN,
    signingKeys: [{ key: createPrivateKey(config.ttsKeyPem), kid: 'tts-1' }],
    trust: { workloads: [{ issuer: GATEWAY, keys: { jwks: { keys: [config.gatewayJwk] } } }] },
    subjectIssuers: [{ issuer: SUBJECT_ISSUER, keys: { jwks: { keys: [config.idpJwk] } }, audiences: [API], user: { attributeClaims: ['department'] } }],
    engine: await EmbeddedEngine.fromDirectory(join(root, 'packages/txn-token-service/policy')),
    audit: createAuditLog({ sinks: [functionSink(() => {})] }),
  })
}

/** This build's shared state in the Redis at `url`. */
async function redisSharedStateOf(url) {
  const { createClient } = await import('redis')
  const { redisSharedState } = await import(join(ROOT, 'packages/txn-token-service/dist/index.js'))
  const client = await createClient({ url, disableOfflineQueue: true }).on('error', () => {}).connect()
  return redisSharedState(client)
}

/** A private redis-server when BENCH_SHARED_STATE=redis, else undefined. */
async function benchRedis() {
  const kind = process.env.BENCH_SHARED_STATE
  if (kind === undefined) return undefined
  if (kind !== 'redis') throw new Error('BENCH_SHARED_STATE must be "redis"')
  const redis = await startRedisServer()
  console.log(`sharedState: this build's TTS keeps used jtis and replacement counts in redis-server at ${redis.url}`)
  return redis
}

/** The floor: a server that reads the form and answers a fixed token, with no work of its own. */
async function serveNothing() {
  const handler = { current: null }
  const url = await listen(handler)
  const answer = JSON.stringify({ access_token: 'x'.repeat(600), issued_token_type: TXN_TOKEN, token_type: 'N_A', expires_in: 300 })
  handler.current = (req, res) => {
    req.resume()
    req.once('end', () => res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' }).end(answer))
  }
  return { url, tokenEndpoint: `${url}/token` }
}

async function serveOidcProvider(config) {
  // oidc-provider 9 prints "Unsupported runtime" on Node 20; it works there (the tests run it).
  const warn = console.warn
  console.warn = () => {}
  const { default: Provider } = await import('oidc-provider')
  console.warn = warn
  const handler = { current: null }
  const url = await listen(handler)
  const provider = new Provider(url, {
    clients: [
      {
        client_id: GATEWAY,
        token_endpoint_auth_method: 'private_key_jwt',
        jwks: { keys: [config.gatewayJwk] },
        grant_types: ['client_credentials'],
        response_types: [],
        redirect_uris: [],
        id_token_signed_response_alg: 'ES256',
      },
    ],
    jwks: { keys: [{ ...config.asJwkPrivate, kid: 'as-1', alg: 'ES256', use: 'sig' }] },
    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      resourceIndicators: {
        enabled: true,
        defaultResource: () => API,
        getResourceServerInfo: () => ({ scope: 'review.read', audience: API, accessTokenFormat: 'jwt', accessTokenTTL: 300, jwt: { sign: { alg: 'ES256' } } }),
      },
    },
  })
  provider.proxy = false
  handler.current = provider.callback()
  return { url, tokenEndpoint: `${url}/token` }
}

async function serverMain(kind, configPath) {
  // A clean exit on SIGTERM, so `--cpu-prof` writes its profile.
  process.on('SIGTERM', () => process.exit(0))
  // CPU time of this process on request: per-token cost, much less sensitive to other load than latency.
  process.on('message', (message) => {
    if (message === 'cpu') {
      const { user, system } = process.cpuUsage()
      const times = serverTimes.splice(0).sort((a, b) => a - b)
      process.send({ cpuUs: user + system, serverP99: times[Math.floor(0.99 * times.length)] ?? NaN })
    }
  })
  const config = JSON.parse(readFileSync(configPath, 'utf8'))
  const started =
    kind === 'oidc' ? await serveOidcProvider(config) : kind === 'null' ? await serveNothing() : await serveTts(config, kind === 'base' ? process.env.BENCH_BASELINE : ROOT)
  process.stdout.write(`${JSON.stringify(started)}\n`)
}

// ---------------------------------------------------------------------------------------------
// Load (this process).

function bodies(kind, config, tokenEndpoint, count) {
  const key = config.gatewayKey
  const subjectToken = () =>
    jws(config.idpKey, 'ES256', { kid: 'idp-1', typ: 'at+jwt' }, {
      iss: SUBJECT_ISSUER, sub: 'alice', aud: API, iat: now(), exp: now() + 3600, scope: 'review.read review.write', roles: ['employee'], department: 'engineering', jti: randomUUID(),
    })
  // One user's access token exchanged again and again (an edge without an exchange cache), or a new one each time.
  const fresh = process.env.BENCH_FRESH_SUBJECT === '1'
  const shared = subjectToken()
  const out = []
  for (let i = 0; i < count; i++) {
    const subject = fresh ? subjectToken() : shared
    const iat = now()
    const assertion = jws(key, 'EdDSA', { kid: 'gateway-1', typ: 'workload+jwt' }, { iss: GATEWAY, sub: GATEWAY, aud: tokenEndpoint, iat, exp: iat + 300, jti: randomUUID() })
    const form =
      kind !== 'oidc'
        ? { grant_type: TOKEN_EXCHANGE, requested_token_type: TXN_TOKEN, audience: TRUST_DOMAIN, scope: 'review.read', subject_token: subject, subject_token_type: ACCESS_TOKEN }
        : { grant_type: 'client_credentials', resource: API, scope: 'review.read' }
    out.push(new URLSearchParams({ ...form, client_assertion_type: JWT_BEARER, client_assertion: assertion }).toString())
  }
  return out
}

function startServer(kind, configPath) {
  const profile = process.env.BENCH_PROFILE_DIR ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_PROFILE_DIR}`, `--cpu-prof-name=${kind}-${Date.now()}.cpuprofile`] : []
  const child = spawn(process.execPath, [...profile, SELF, 'server', kind, configPath], { stdio: ['ignore', 'pipe', 'inherit', 'ipc'], env: { ...process.env, NODE_ENV: 'production' } })
  const rl = createInterface({ input: child.stdout })
  return new Promise((resolve, reject) => {
    rl.once('line', (line) => resolve({ child, ...JSON.parse(line) }))
    child.once('exit', (code) => reject(new Error(`${kind} server exited with ${code}`)))
  })
}

/** The server's CPU time so far (µs). */
function serverCpu(child) {
  return new Promise((resolve) => {
    child.once('message', resolve)
    child.send('cpu')
  })
}

async function measure(kind, configPath, config, settings) {
  const server = await startServer(kind, configPath)
  try {
    const warm = bodies(kind, config, server.tokenEndpoint, Math.ceil(settings.warmupS * 3000))
    await load(server.url, '/token', warm, { seconds: settings.warmupS, connections: settings.connections })
    const results = {}
    for (const mode of ['rate', 'max']) {
      // Enough single-use assertions that none repeats within the window.
      const forms = bodies(kind, config, server.tokenEndpoint, Math.ceil(settings.durationS * (mode === 'rate' ? settings.rate * 1.2 : 4000)))
      const { cpuUs: cpuBefore } = await serverCpu(server.child)
      results[mode] = await load(server.url, '/token', forms, { seconds: settings.durationS, connections: settings.connections, rate: mode === 'rate' ? settings.rate : undefined })
      const after = await serverCpu(server.child)
      results[mode].cpuUs = (after.cpuUs - cpuBefore) / Math.max(1, results[mode].ok + results[mode].bad)
      results[mode].serverP99 = after.serverP99
      if (results[mode].used > forms.length) results[mode].assertionsReused = true
    }
    return results
  } finally {
    const exited = new Promise((resolve) => server.child.once('exit', resolve))
    server.child.kill('SIGTERM')
    const timer = setTimeout(() => server.child.kill('SIGKILL'), 5000)
    await exited
    clearTimeout(timer)
  }
}

/** Fresh keys, and the configuration the servers read (public keys, the servers' private keys). */
function makeConfig() {
  const gateway = generateKeyPairSync('ed25519')
  const idp = generateKeyPairSync('ec', { namedCurve: 'P-256' })
  const as = generateKeyPairSync('ec', { namedCurve: 'P-256' })
  const tts = generateKeyPairSync('ec', { namedCurve: 'P-256' })
  const shared = {
    gatewayJwk: { ...gateway.publicKey.export({ format: 'jwk' }), kid: 'gateway-1', alg: 'EdDSA', use: 'sig' },
    idpJwk: { ...idp.publicKey.export({ format: 'jwk' }), kid: 'idp-1', alg: 'ES256', use: 'sig' },
    asJwkPrivate: as.privateKey.export({ format: 'jwk' }),
    ttsKeyPem: tts.privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(),
  }
  return { shared, keys: { gateway, idp } }
}

async function main() {
  const settings = {
    rounds: Number(process.env.BENCH_ROUNDS ?? 3),
    warmupS: Number(process.env.BENCH_WARMUP_S ?? 3),
    durationS: Number(process.env.BENCH_DURATION_S ?? 10),
    connections: Number(process.env.BENCH_CONNECTIONS ?? 10),
    rate: Number(process.env.BENCH_RATE ?? 1000),
  }
  const { shared: config, keys } = makeConfig()
  const { gateway, idp } = keys
  const redis = await benchRedis()
  if (redis !== undefined) config.redisUrl = redis.url
  const dir = mkdtempSync(join(tmpdir(), 'bench-tts-'))
  const configPath = join(dir, 'config.json')
  writeFileSync(configPath, JSON.stringify(config))
  const local = { ...config, gatewayKey: gateway.privateKey, idpKey: idp.privateKey }
  const kinds = ['tts', ...(process.env.BENCH_BASELINE ? ['base'] : []), ...(process.env.BENCH_SKIP_OIDC === '1' ? [] : ['oidc']), 'null']
  console.log(`Txn-Token Service vs oidc-provider client_credentials; ${settings.rounds} rounds, ${settings.durationS} s windows, ${settings.connections} connections, rate mode ${settings.rate}/s; Node ${process.version}`)
  if (process.env.BENCH_BASELINE) console.log(`base: the TTS built in ${process.env.BENCH_BASELINE}`)
  console.log(`load average at start: ${loadavg().map((l) => l.toFixed(2)).join(' ')}`)
  const all = { tts: [], base: [], oidc: [], null: [] }
  try {
    for (let round = 0; round < settings.rounds; round++) {
      const order = round % 2 === 0 ? kinds : [...kinds].reverse()
      for (const kind of order) {
        const result = await measure(kind, configPath, local, settings)
        all[kind].push(result)
        const r = result
        console.log(
          `round ${round + 1} ${kind.padEnd(4)}  rate: ${r.rate.rps.toFixed(0)} tok/s p50 ${r.rate.p50.toFixed(2)} ms p99 ${r.rate.p99.toFixed(2)} ms p99.9 ${r.rate.p999.toFixed(2)} ms, in server p99 ${r.rate.serverP99.toFixed(2)} ms (non-2xx ${r.rate.bad})` +
            `   max: ${r.max.rps.toFixed(0)} tok/s p50 ${r.max.p50.toFixed(2)} ms p99 ${r.max.p99.toFixed(2)} ms (non-2xx ${r.max.bad})` +
            `   server CPU/token: ${r.max.cpuUs.toFixed(0)} µs`,
        )
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true })
    await redis?.stop()
  }
  const line = (kind, label) => {
    const rs = all[kind]
    return `${label.padEnd(34)} rate ${settings.rate}/s: p50 ${median(rs.map((r) => r.rate.p50)).toFixed(2)} ms, p99 ${median(rs.map((r) => r.rate.p99)).toFixed(2)} ms (in server ${median(rs.map((r) => r.rate.serverP99)).toFixed(2)} ms) | max: ${median(rs.map((r) => r.max.rps)).toFixed(0)} tok/s, p50 ${median(rs.map((r) => r.max.p50)).toFixed(2)} ms, p99 ${median(rs.map((r) => r.max.p99)).toFixed(2)} ms | server CPU ${median(rs.map((r) => r.max.cpuUs)).toFixed(0)} µs/token`
  }
  console.log(`\nmedians over rounds (load average at end: ${loadavg().map((l) => l.toFixed(2)).join(' ')})`)
  console.log(line('tts', 'TTS token exchange (txn_token)'))
  if (all.base.length > 0) console.log(line('base', 'TTS baseline (BENCH_BASELINE)'))
  if (all.oidc.length > 0) console.log(line('oidc', 'oidc-provider client_credentials'))
  console.log(line('null', 'floor: a server doing nothing'))
  const p99 = (kind, pick) => median(all[kind].map((r) => pick(r.rate)))
  const verdict = (value) => (value < 10 ? 'met' : 'missed')
  console.log(
    `target p99 < 10 ms at ${settings.rate}/s: end to end ${p99('tts', (r) => r.p99).toFixed(2)} ms (${verdict(p99('tts', (r) => r.p99))}), ` +
      `in the server ${p99('tts', (r) => r.serverP99).toFixed(2)} ms (${verdict(p99('tts', (r) => r.serverP99))}); ` +
      `this machine's floor at the same rate: p99 ${p99('null', (r) => r.p99).toFixed(2)} ms end to end`,
  )
  const paired = (other, pick) => median(all.tts.map((r, i) => pick(r) / pick(all[other][i]))).toFixed(2)
  if (all.oidc.length > 0) console.log(`throughput TTS ÷ oidc-provider (paired by round): ${paired('oidc', (r) => r.max.rps)}`)
  if (all.base.length > 0) {
    console.log(
      `TTS ÷ baseline (paired by round): server CPU per token ${paired('base', (r) => r.max.cpuUs)}, throughput ${paired('base', (r) => r.max.rps)}, ` +
        `p50 at ${settings.rate}/s ${paired('base', (r) => r.rate.p50)}, p99 at ${settings.rate}/s ${paired('base', (r) => r.rate.p99)}`,
    )
  }
}

/** In-process, alternating batches of sequential exchanges: this build against BENCH_BASELINE. */
async function compareMain() {
  const baseline = process.env.BENCH_BASELINE
  if (!baseline) throw new Error('compare needs BENCH_BASELINE=<a built checkout>')
  const batches = Number(process.env.BENCH_BATCHES ?? 30)
  const batch = Number(process.env.BENCH_BATCH ?? 200)
  const config = makeConfig()
  const redis = await benchRedis()
  if (redis !== undefined) config.shared.redisUrl = redis.url
  const local = { ...config.shared, gatewayKey: config.keys.gateway.privateKey, idpKey: config.keys.idp.privateKey }
  const url = 'http://127.0.0.1:1'
  const sides = { tts: await createTts(config.shared, ROOT, url), base: await createTts(config.shared, baseline, url) }
  const params = (service, count) =>
    bodies('tts', local, service.tokenEndpoint, count).map((body) => {
      const form = new Map(new URLSearchParams(body))
      return { form, client: { assertion: form.get('client_assertion'), assertionType: form.get('client_assertion_type'), clientId: undefined } }
    })
  const times = { tts: [], base: [] }
  console.log(`Txn-Token issuance in-process (no HTTP), this build vs ${baseline}: ${batches} alternating batches of ${batch}; Node ${process.version}`)
  console.log(`load average at start: ${loadavg().map((l) => l.toFixed(2)).join(' ')}`)
  for (let i = 0; i < batches + 2; i++) {
    for (const kind of i % 2 === 0 ? ['tts', 'base'] : ['base', 'tts']) {
      const work = params(sides[kind], batch)
      const start = process.hrtime.bigint()
      for (const { form, client } of work) await sides[kind].exchange(form, client)
      const us = Number(process.hrtime.bigint() - start) / 1000 / batch
      // The first two rounds warm up (JIT, key imports, caches).
      if (i >= 2) times[kind].push(us)
    }
  }
  const m = { tts: median(times.tts), base: median(times.base) }
  console.log(`load average at end: ${loadavg().map((l) => l.toFixed(2)).join(' ')}`)
  console.log(`median per exchange: this build ${m.tts.toFixed(0)} µs, baseline ${m.base.toFixed(0)} µs, ratio ${(m.tts / m.base).toFixed(2)}`)
  const paired = times.tts.map((t, i) => t / times.base[i])
  console.log(`paired batch ratios this ÷ baseline: median ${median(paired).toFixed(2)}, min ${Math.min(...paired).toFixed(2)}, max ${Math.max(...paired).toFixed(2)}`)
  await redis?.stop()
  // The Redis client of the shared state would keep the process alive.
  process.exit(0)
}

if (process.argv[2] === 'server') await serverMain(process.argv[3], process.argv[4])
else if (process.argv[2] === 'compare') await compareMain()
else await main()
