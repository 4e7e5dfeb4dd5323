// Shared by the micro-benchmarks (bench/identity.mjs, bench/wimse.mjs).

/**
 * Median µs per operation. Operations are interleaved round by round (after a warm-up), so load
 * from other processes on a shared machine hits every operation alike; each sample times a batch of
 * `batch` calls. `op(i)` gets a per-operation counter, so an operation can take a new input each call;
 * `used` says how many each one consumed (a pool of single-use inputs must be at least that long).
 */
export async function measure(ops, { rounds = 40, warmup = 150 } = {}) {
  const samples = Object.fromEntries(Object.keys(ops).map((name) => [name, []]))
  const counters = Object.fromEntries(Object.keys(ops).map((name) => [name, 0]))
  for (const [name, { op }] of Object.entries(ops)) for (let w = 0; w < warmup; w++) await op(counters[name]++)
  for (let r = 0; r < rounds; r++) {
    for (const [name, { op, batch }] of Object.entries(ops)) {
      const start = process.hrtime.bigint()
      for (let b = 0; b < batch; b++) await op(counters[name]++)
      samples[name].push(Number(process.hrtime.bigint() - start) / 1000 / batch)
    }
  }
  const median = (list) => list.sort((a, b) => a - b)[Math.floor(list.length / 2)]
  return { results: Object.fromEntries(Object.entries(samples).map(([name, list]) => [name, median(list)])), used: counters }
}
