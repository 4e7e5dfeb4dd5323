// pnpm bench:client — median overhead per outbound request of the meshguard interceptor versus
// plain undici, against the same loopback server, in the same run. Runs on the built dist
// (`pnpm bench:client` runs `tsc -b` first).
//
// Three dispatchers, each with one keep-alive connection:
//   plain      undici Agent
//   core       Agent + meshguardInterceptor with core's createWorkloadIdentity (token cached by core)
//   constant   Agent + meshguardInterceptor with a minting side that returns fixed headers, which
//              isolates the interceptor's own work (header copy, destination lookup, plan, trace)
//   wire       plain undici sending those same fixed headers by hand: what the bytes alone cost
// Each iteration sends one request through each, rotating which goes first, so drift in machine
// load hits all sides alike. Latency runs from dispatch to the end of the response body.
import { generateKeyPairSync } from 'node:crypto'
import { createServer } from 'node:http'
import { Agent, request } from 'undici'

import { createWorkloadIdentity, selfSignedTokenSource } from '../packages/core/dist/index.js'
import { meshguardInterceptor } from '../packages/client/dist/index.js'

const ITERATIONS = Number(process.env.BENCH_ITERATIONS ?? 5000)
const WARMUP = Number(process.env.BENCH_WARMUP ?? 500)
const CALLER = 'spiffe://example.org/ns/bench/sa/caller'
const CALLEE = 'spiffe://example.org/ns/bench/sa/callee'

const server = createServer((req, res) => {
  req.resume()
  res.writeHead(200, { 'content-type': 'text/plain', 'content-length': '2' }).end('ok')
})
await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
const origin = `http://127.0.0.1:${server.address().port}`

const { privateKey } = generateKeyPairSync('ed25519')
const coreIdentity = createWorkloadIdentity({ id: CALLER, source: selfSignedTokenSource({ key: privateKey, kid: 'bench-1' }) })
let coreCalls = 0
const countingCore = {
  headersFor: async (req) => {
    coreCalls++
    return coreIdentity.headersFor(req)
  },
}
const fixedHeaders = await coreIdentity.headersFor({ audience: CALLEE })
const constantIdentity = { headersFor: async () => fixedHeaders }

const agents = []
function agent() {
  const a = new Agent({ connections: 1 })
  agents.push(a)
  return a
}
const options = (identity) => ({ identity, destinations: { [origin]: CALLEE }, acting: () => undefined })
const sides = {
  plain: agent(),
  core: agent().compose(meshguardInterceptor(options(countingCore))),
  constant: agent().compose(meshguardInterceptor(options(constantIdentity))),
  wire: agent(),
}
const names = Object.keys(sides)

async function timed(name) {
  const dispatcher = sides[name]
  const start = process.hrtime.bigint()
  const res = await request(`${origin}/reviews/7`, name === 'wire' ? { dispatcher, headers: fixedHeaders } : { dispatcher })
  await res.body.dump()
  return Number(process.hrtime.bigint() - start) / 1000 // µs
}

const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = sorted.length >> 1
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2
}

for (let i = 0; i < WARMUP; i++) for (const name of names) await timed(name)

const samples = Object.fromEntries(names.map((name) => [name, []]))
for (let i = 0; i < ITERATIONS; i++) {
  for (let k = 0; k < names.length; k++) {
    const name = names[(i + k) % names.length]
    samples[name].push(await timed(name))
  }
}
const paired = (name) => median(samples[name].map((us, i) => us - samples.plain[i]))

// The minting side alone, when its token is cached (no network), for reference.
const mintStart = process.hrtime.bigint()
for (let i = 0; i < ITERATIONS; i++) await coreIdentity.headersFor({ audience: CALLEE })
const cachedMintUs = Number(process.hrtime.bigint() - mintStart) / 1000 / ITERATIONS

await Promise.all(agents.map((a) => a.close()))
await new Promise((resolve) => server.close(resolve))

const fmt = (us) => `${us.toFixed(1).padStart(6)} µs`
console.log(`meshguard client overhead: ${ITERATIONS} rotated rounds (+${WARMUP} warm-up), Node ${process.version}, undici ${(await import('undici/package.json', { with: { type: 'json' } })).default.version}`)
console.log(`  plain undici                        median ${fmt(median(samples.plain))}`)
console.log(`  interceptor, core identity (cached) median ${fmt(median(samples.core))}   overhead ${fmt(median(samples.core) - median(samples.plain))} (paired median ${fmt(paired('core'))})`)
console.log(`  interceptor, constant headers       median ${fmt(median(samples.constant))}   overhead ${fmt(median(samples.constant) - median(samples.plain))} (paired median ${fmt(paired('constant'))})`)
console.log(`  plain undici, same headers by hand   median ${fmt(median(samples.wire))}   overhead ${fmt(median(samples.wire) - median(samples.plain))} (paired median ${fmt(paired('wire'))})`)
console.log(`  core headersFor alone, cached       mean   ${fmt(cachedMintUs)} per call`)
console.log(`  core headersFor calls in the run: ${coreCalls} (one per request through the core side; signed once, then cached)`)
