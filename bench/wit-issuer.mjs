// Benchmark of the WIT issuer: WIT issuance (`POST /wit`, a Kubernetes service-account token as the
// attestation, a fresh ES256 workload key and proof of possession per request) under concurrent
// load from a real HTTP client (autocannon) on loopback, beside Txn-Token issuance (`POST /token`,
// token exchange of a user's access token) by the same service process, in the same run.
// Usage: `pnpm bench:wit` (builds first, then runs this file).
//
// Per WIT the issuer verifies the attestation (RS256, as Kubernetes signs), the proof (ES256, its
// jti remembered), evaluates the shipped workload_identity policy (issue + two role actions) and
// signs the WIT (ES256); per Txn-Token the service verifies a private_key_jwt assertion (EdDSA) and
// the subject token (ES256), evaluates the txn_token policy and signs (ES256). Both audit (noop sink).
// The service runs in its own process on 127.0.0.1 (NODE_ENV=production).
//
// Two loads per kind: `rate` (a steady BENCH_RATE requests/s, open loop: latency at a given load) and `max` (as
// fast as BENCH_CONNECTIONS connections go: throughput). Non-2xx answers are counted (there should be none).
//
// Env: BENCH_ROUNDS (1), BENCH_WARMUP_S (2), BENCH_DURATION_S (5), BENCH_CONNECTIONS (10), BENCH_RATE (500).
import { spawn } from 'node:child_process'
import { createHash, generateKeyPairSync, randomBytes, randomUUID, sign } from 'node:crypto'
import { createServer } from 'node:http'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath, URLSearchParams } from 'node:url'
import { jws, load, median } from './token-load.mjs'

const SELF = fileURLToPath(import.meta.url)
const ROOT = fileURLToPath(new URL('..', import.meta.url))
const TRUST_DOMAIN = 'example.org'
const GATEWAY = `spiffe://${TRUST_DOMAIN}/ns/edge/sa/gateway`
const CLUSTER = 'https://kubernetes.default.svc.cluster.local'
const SUBJECT_ISSUER = 'https://idp.example.org'
const API = 'https://api.example.org'

const now = () => Math.floor(Date.now() / 1000)
const b64 = (value) => Buffer.from(JSON.stringify(value)).toString('base64url')

/** An RS256 JWS (Kubernetes signs service-account tokens with RSA). */
function rs256(key, header, claims) {
  const input = `${b64({ alg: 'RS256', ...header })}.${b64(claims)}`
  return `${input}.${sign('sha256', Buffer.from(input), key).toString('base64url')}`
}

// ---------------------------------------------------------------------------------------------
// The service (child process).

async function serverMain(configPath) {
  const config = JSON.parse(readFileSync(configPath, 'utf8'))
  const { createPrivateKey } = await import('node:crypto')
  const { EmbeddedEngine, createAuditLog, functionSink } = await import(join(ROOT, 'packages/core/dist/index.js'))
  const { createTxnTokenService } = await import(join(ROOT, 'packages/txn-token-service/dist/index.js'))
  const handler = { current: null }
  const server = createServer((req, res) => handler.current(req, res))
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
  const url = `http://127.0.0.1:${server.address().port}`
  const service = createTxnTokenService({
    issuer: url,
    trustDomain: TRUST_DOMAIN,
    signingKeys: [{ key: createPrivateKey(config.ttsKeyPem), kid: 'tts-1' }],
    trust: { workloads: [{ issuer: GATEWAY, keys: { jwks: { keys: [config.gatewayJwk] } } }] },
    subjectIssuers: [{ issuer: SUBJECT_ISSUER, keys: { jwks: { keys: [config.idpJwk] } }, audiences: [API] }],
    engine: await EmbeddedEngine.fromDirectory(join(ROOT, 'packages/txn-token-service/policy')),
    audit: createAuditLog({ sinks: [functionSink(() => {})] }),
    wit: {
      signingKeys: [{ key: createPrivateKey(config.witKeyPem), kid: 'wit-1' }],
      roles: ['reviews-reader', 'hr-admin'],
      kubernetes: [{ cluster: 'prod', issuer: CLUSTER, keys: { jwks: { keys: [config.clusterJwk] } } }],
    },
  })
  handler.current = service.handler
  process.stdout.write(`${JSON.stringify({ url, tokenEndpoint: service.tokenEndpoint })}\n`)
}

// ---------------------------------------------------------------------------------------------
// Load (this process).

/** WIT requests: one service-account token, a fresh workload key and proof each. */
function witBodies(url, keys, count) {
  const iat = now()
  const attestation = rs256(keys.cluster, { kid: 'cluster-1' }, {
    iss: CLUSTER, aud: [url], sub: 'system:serviceaccount:reviews:reviews', iat, nbf: iat, exp: iat + 3600,
    'kubernetes.io': { namespace: 'reviews', serviceaccount: { name: 'reviews', uid: randomUUID() } },
  })
  const ath = createHash('sha256').update(attestation).digest('base64url')
  const out = []
  for (let i = 0; i < count; i++) {
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' })
    const { kty, crv, x, y } = publicKey.export({ format: 'jwk' })
    const proof = jws(privateKey, 'ES256', { typ: 'wit-pop+jwt', jwk: { kty, crv, x, y, alg: 'ES256' } }, { aud: url, iat: now(), jti: randomBytes(16).toString('base64url'), ath })
    out.push(JSON.stringify({ attestation_type: 'kubernetes_sa_token', attestation, proof }))
  }
  return out
}

/** Txn-Token requests: a fresh client assertion each, one user access token. */
function txnBodies(tokenEndpoint, keys, count) {
  const subject = jws(keys.idp, 'ES256', { kid: 'idp-1', typ: 'at+jwt' }, { iss: SUBJECT_ISSUER, sub: 'alice', aud: API, iat: now(), exp: now() + 3600, scope: 'review.read', roles: ['employee'] })
  const out = []
  for (let i = 0; i < count; i++) {
    const iat = now()
    const assertion = jws(keys.gateway, 'EdDSA', { kid: 'gateway-1', typ: 'workload+jwt' }, { iss: GATEWAY, sub: GATEWAY, aud: tokenEndpoint, iat, exp: iat + 300, jti: randomUUID() })
    out.push(
      new URLSearchParams({
        grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange',
        requested_token_type: 'urn:ietf:params:oauth:token-type:txn_token',
        audience: TRUST_DOMAIN,
        scope: 'review.read',
        subject_token: subject,
        subject_token_type: 'urn:ietf:params:oauth:token-type:access_token',
        client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
        client_assertion: assertion,
      }).toString(),
    )
  }
  return out
}

const KINDS = {
  wit: { label: 'WIT issuance (POST /wit)', path: '/wit', contentType: 'application/json', bodies: (server, keys, n) => witBodies(server.url, keys, n) },
  txn: { label: 'Txn-Token issuance (POST /token)', path: '/token', contentType: 'application/x-www-form-urlencoded', bodies: (server, keys, n) => txnBodies(server.tokenEndpoint, keys, n) },
}

async function measure(server, kind, keys, settings) {
  const { path, contentType, bodies } = KINDS[kind]
  const options = { seconds: settings.warmupS, connections: settings.connections, contentType }
  await load(server.url, path, bodies(server, keys, Math.ceil(settings.warmupS * 3000)), options)
  const results = {}
  for (const mode of ['rate', 'max']) {
    // Enough single-use proofs and assertions that none repeats within the window.
    const count = Math.ceil(settings.durationS * (mode === 'rate' ? settings.rate * 1.2 : 3000))
    results[mode] = await load(server.url, path, bodies(server, keys, count), { ...options, seconds: settings.durationS, rate: mode === 'rate' ? settings.rate : undefined })
    if (results[mode].used > count) results[mode].reused = true
  }
  return results
}

async function main() {
  const settings = {
    rounds: Number(process.env.BENCH_ROUNDS ?? 1),
    warmupS: Number(process.env.BENCH_WARMUP_S ?? 2),
    durationS: Number(process.env.BENCH_DURATION_S ?? 5),
    connections: Number(process.env.BENCH_CONNECTIONS ?? 10),
    rate: Number(process.env.BENCH_RATE ?? 500),
  }
  const gateway = generateKeyPairSync('ed25519')
  const idp = generateKeyPairSync('ec', { namedCurve: 'P-256' })
  const cluster = generateKeyPairSync('rsa', { modulusLength: 2048 })
  const pem = (key) => key.export({ format: 'pem', type: 'pkcs8' }).toString()
  const config = {
    gatewayJwk: { ...gateway.publicKey.export({ format: 'jwk' }), kid: 'gateway-1', alg: 'EdDSA', use: 'sig' },
    idpJwk: { ...idp.publicKey.export({ format: 'jwk' }), kid: 'idp-1', alg: 'ES256', use: 'sig' },
    clusterJwk: { ...cluster.publicKey.export({ format: 'jwk' }), kid: 'cluster-1', alg: 'RS256', use: 'sig' },
    ttsKeyPem: pem(generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey),
    witKeyPem: pem(generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey),
  }
  const keys = { gateway: gateway.privateKey, idp: idp.privateKey, cluster: cluster.privateKey }
  const dir = mkdtempSync(join(tmpdir(), 'bench-wit-'))
  const configPath = join(dir, 'config.json')
  writeFileSync(configPath, JSON.stringify(config))
  console.log(`WIT issuer beside Txn-Token issuance, one service process; ${settings.rounds} round(s), ${settings.durationS} s windows, ${settings.connections} connections, rate mode ${settings.rate}/s; Node ${process.version}`)
  const child = spawn(process.execPath, [SELF, 'server', configPath], { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, NODE_ENV: 'production' } })
  const all = { wit: [], txn: [] }
  try {
    const server = await new Promise((resolve, reject) => {
      createInterface({ input: child.stdout }).once('line', (line) => resolve(JSON.parse(line)))
      child.once('exit', (code) => reject(new Error(`the service exited with ${code}`)))
    })
    for (let round = 0; round < settings.rounds; round++) {
      for (const kind of round % 2 === 0 ? ['wit', 'txn'] : ['txn', 'wit']) {
        const r = await measure(server, kind, keys, settings)
        all[kind].push(r)
        console.log(
          `round ${round + 1} ${kind}  rate: ${r.rate.rps.toFixed(0)}/s p50 ${r.rate.p50.toFixed(2)} ms p99 ${r.rate.p99.toFixed(2)} ms (non-2xx ${r.rate.bad})` +
            `   max: ${r.max.rps.toFixed(0)}/s p50 ${r.max.p50.toFixed(2)} ms p99 ${r.max.p99.toFixed(2)} ms (non-2xx ${r.max.bad})`,
        )
      }
    }
  } finally {
    child.kill('SIGKILL')
    rmSync(dir, { recursive: true, force: true })
  }
  console.log('\nmedians over rounds')
  for (const kind of ['wit', 'txn']) {
    const rs = all[kind]
    console.log(
      `${KINDS[kind].label.padEnd(34)} rate ${settings.rate}/s: p50 ${median(rs.map((r) => r.rate.p50)).toFixed(2)} ms, p99 ${median(rs.map((r) => r.rate.p99)).toFixed(2)} ms | max: ${median(rs.map((r) => r.max.rps)).toFixed(0)}/s, p50 ${median(rs.map((r) => r.max.p50)).toFixed(2)} ms, p99 ${median(rs.map((r) => r.max.p99)).toFixed(2)} ms`,
    )
  }
}

if (process.argv[2] === 'server') await serverMain(process.argv[3])
else await main()
