// Shared pieces of the token-service benchmarks (txn-token-service.mjs, wit-issuer.mjs): JWS signing
// independent of the code under test, an autocannon load of pre-built request bodies (closed loop:
// as fast as the connections go), an open-loop load at a fixed rate, medians.
import { sign } from 'node:crypto'
import { performance } from 'node:perf_hooks'

const b64 = (value) => Buffer.from(JSON.stringify(value)).toString('base64url')

/** A compact JWS signed with node:crypto (independent of the code under test). */
export function jws(key, alg, header, claims) {
  const input = `${b64({ alg, ...header })}.${b64(claims)}`
  const signature = alg === 'EdDSA' ? sign(null, Buffer.from(input), key) : sign('sha256', Buffer.from(input), { key, dsaEncoding: 'ieee-p1363' })
  return `${input}.${signature.toString('base64url')}`
}

/**
 * POSTs `bodies` (each used once, in order) to `url` + `path` for `seconds`: as fast as
 * `connections` go (autocannon, closed loop), or at a steady `rate` requests/s when given
 * ({@link paced}); latency percentiles from every 2xx response.
 */
export async function load(url, path, bodies, { seconds, connections, rate, contentType = 'application/x-www-form-urlencoded' }) {
  if (rate) return paced(url, path, bodies, { seconds, rate, contentType })
  const { default: autocannon } = await import('autocannon')
  let next = 0
  const latencies = []
  let ok = 0
  let bad = 0
  const requests = [{ method: 'POST', path, headers: { 'content-type': contentType }, setupRequest: (req) => ({ ...req, body: bodies[next++ % bodies.length] }) }]
  const result = await new Promise((resolve, reject) => {
    const instance = autocannon({ url, connections, duration: seconds, requests }, (err, res) => (err ? reject(err) : resolve(res)))
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

/**
 * POSTs `bodies` (each used once, in order) to `url` + `path` at a steady `rate` requests/s for
 * `seconds`: an open loop, as independent clients would arrive. Each request is due at its own
 * moment (start + i / rate) and its latency runs from that moment, not from when it was sent, so a
 * slow server or a late timer in this process counts against the latency (no coordinated omission).
 * autocannon's `overallRate` is not used for this: it sends each second's quota in one burst at the
 * top of the second, so its "latency at a rate" is the latency of a burst at full speed.
 */
export async function paced(url, path, bodies, { seconds, rate, connections = 64, contentType = 'application/x-www-form-urlencoded' }) {
  const { Pool } = await import('undici')
  const pool = new Pool(url, { connections, pipelining: 1 })
  const interval = 1000 / rate
  const total = Math.round(seconds * rate)
  const latencies = []
  let ok = 0
  let bad = 0
  let sent = 0
  const inFlight = []
  const begin = performance.now()
  const send = (due, body) =>
    pool.request({ path, method: 'POST', headers: { 'content-type': contentType }, body }).then(
      async (res) => {
        await res.body.dump()
        if (res.statusCode >= 200 && res.statusCode < 300) {
          ok++
          latencies.push(performance.now() - due)
        } else bad++
      },
      () => {
        bad++
      },
    )
  await new Promise((resolve) => {
    const tick = () => {
      const now = performance.now()
      while (sent < total && begin + sent * interval <= now) {
        inFlight.push(send(begin + sent * interval, bodies[sent % bodies.length]))
        sent++
      }
      if (sent >= total) resolve()
      else setTimeout(tick, Math.max(0, begin + sent * interval - performance.now()))
    }
    tick()
  })
  await Promise.all(inFlight)
  const elapsedS = (performance.now() - begin) / 1000
  await pool.close()
  latencies.sort((a, b) => a - b)
  const pct = (p) => latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))] ?? NaN
  return { rps: ok / elapsedS, p50: pct(50), p99: pct(99), p999: pct(99.9), max: latencies.at(-1) ?? NaN, ok, bad, used: sent }
}

/** The median of numbers. */
export const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.floor(sorted.length / 2)]
}
