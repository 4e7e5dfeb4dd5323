// pnpm bench:client — median overhead per outbound request of the meshguard interceptor (token
// cached by core) versus plain undici, against the same loopback server, in the same run.
// Runs on the built dist (pnpm bench:client runs `tsc -b` first).
//
// Each iteration sends one plain and one meshguard request, alternating which goes first, so drift
// in machine load hits both sides alike. Latency is measured from dispatch to the end of the body.
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
const identity = createWorkloadIdentity({ id: CALLER, source: selfSignedTokenSource({ key: privateKey, kid: 'bench-1' }) })
let mints = 0
const countingIdentity = {
  headersFor: async (req) => {
    mints++
    return identity.headersFor(req)
  },
}

// One connection each, so both sides reuse a warm keep-alive socket the same way.
const plainAgent = new Agent({ connections: 1 })
const guardedBase = new Agent({ connections: 1 })
const guarded = guardedBase.compose(
  meshguardInterceptor({ identity: countingIdentity, destinations: { [origin]: CALLEE }, acting: () => undefined }),
)

async function timed(dispatcher) {
  const start = process.hrtime.bigint()
  const res = await request(`${origin}/reviews/7`, { dispatcher })
  await res.body.dump()
  return Number(process.hrtime.bigint() - start) / 1000 // µs
}

const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = sorted.length >> 1
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2
}

for (let i = 0; i < WARMUP; i++) {
  await timed(plainAgent)
  await timed(guarded)
}

const plain = []
const meshguard = []
const paired = []
for (let i = 0; i < ITERATIONS; i++) {
  let p, g
  if (i % 2 === 0) {
    p = await timed(plainAgent)
    g = await timed(guarded)
  } else {
    g = await timed(guarded)
    p = await timed(plainAgent)
  }
  plain.push(p)
  meshguard.push(g)
  paired.push(g - p)
}

// Cost of the minting path alone when cached (no network), for reference.
const cachedMintStart = process.hrtime.bigint()
for (let i = 0; i < ITERATIONS; i++) await identity.headersFor({ audience: CALLEE })
const cachedMintUs = Number(process.hrtime.bigint() - cachedMintStart) / 1000 / ITERATIONS

await Promise.all([plainAgent.close(), guardedBase.close()])
await new Promise((resolve) => server.close(resolve))

const fmt = (us) => `${us.toFixed(1)} µs`
console.log(`meshguard client overhead (${ITERATIONS} interleaved pairs, ${WARMUP} warm-up pairs, Node ${process.version})`)
console.log(`  plain undici           median ${fmt(median(plain))}`)
console.log(`  with interceptor       median ${fmt(median(meshguard))}`)
console.log(`  overhead (medians)     ${fmt(median(meshguard) - median(plain))}`)
console.log(`  overhead (paired)      median ${fmt(median(paired))}`)
console.log(`  headersFor, cached     mean ${fmt(cachedMintUs)} per call`)
console.log(`  headersFor calls during the run: ${mints} (one per guarded request; tokens signed once, then cached)`)
