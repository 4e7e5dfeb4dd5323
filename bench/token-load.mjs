// Shared pieces of the token-service benchmarks (txn-token-service.mjs, wit-issuer.mjs): JWS signing
// independent of the code under test, an autocannon load of pre-built request bodies, medians.
import { sign } from 'node:crypto'

const b64 = (value) => Buffer.from(JSON.stringify(value)).toString('base64url')

/** A compact JWS signed with node:crypto (independent of the code under test). */
export function jws(key, alg, header, claims) {
  const input = `${b64({ alg, ...header })}.${b64(claims)}`
  const signature = alg === 'EdDSA' ? sign(null, Buffer.from(input), key) : sign('sha256', Buffer.from(input), { key, dsaEncoding: 'ieee-p1363' })
  return `${input}.${signature.toString('base64url')}`
}

/**
 * POSTs `bodies` (each used once, in order) to `url` + `path` for `seconds` over `connections`,
 * at `rate` requests/s when given; latency percentiles from every 2xx response.
 */
export async function load(url, path, bodies, { seconds, connections, rate, contentType = 'application/x-www-form-urlencoded' }) {
  const { default: autocannon } = await import('autocannon')
  let next = 0
  const latencies = []
  let ok = 0
  let bad = 0
  const requests = [{ method: 'POST', path, headers: { 'content-type': contentType }, setupRequest: (req) => ({ ...req, body: bodies[next++ % bodies.length] }) }]
  const result = await new Promise((resolve, reject) => {
    const instance = autocannon({ url, connections, duration: seconds, requests, ...(rate ? { overallRate: rate } : {}) }, (err, res) => (err ? reject(err) : resolve(res)))
    instance.on('response', (_client, status, _bytes, ms) => {
      if (status >= 200 && status < 300) {
        ok++
        latencies.push(ms)
      } else bad++
    })
  })
  latencies.sort((a, b) => a - b)
  const pct = (p) => latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))] ?? NaN
  return { rps: ok / seconds, p50: pct(50), p99: pct(99), ok, bad: bad + result.errors + result.timeouts, used: next }
}

/** The median of numbers. */
export const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.floor(sorted.length / 2)]
}
