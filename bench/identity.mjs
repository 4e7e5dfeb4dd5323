// pnpm bench:identity: the cost of meshguard's identity layer on the built dist, beside jose's raw
// jwtVerify in the same run. For EdDSA and ES256 it reports the median time per operation of:
//   - verifying a workload + actor token pair cold (tokens never seen before: two signatures, all checks),
//   - verifying the same pair again (the verified-result cache),
//   - minting outbound headers cold (a new callee: one signature) and cached,
//   - jose jwtVerify alone on the same tokens (one token, and the pair), with the same key objects,
//   - the same for Txn-Token mode: a workload token bound (txn, tth) to a Txn-Token, cold (both new),
//     cached (the same pair again) and with a fresh workload token next to a Txn-Token seen before
//     (the usual inner hop: one Txn-Token per transaction, a new workload token per call), beside
//     access-token mode's fresh-workload-token row.
// Medians over batches; each batch times `batch` operations, so timer overhead stays out of µs results.
import { createRequire } from 'node:module'
import { generateKeyPairSync } from 'node:crypto'
import { pathToFileURL } from 'node:url'

const core = await import(new URL('../packages/core/dist/identity/index.js', import.meta.url))
const requireFromCore = createRequire(new URL('../packages/core/package.json', import.meta.url))
const jose = await import(pathToFileURL(requireFromCore.resolve('jose')).href)

const TD = 'spiffe://example.org/ns/bench/sa'
const CALLER = `${TD}/caller`
const CALLEE = `${TD}/callee`
const USER_ISSUER = 'https://idp.example.org'

function keyPair(alg, kid) {
  const { privateKey, publicKey } = alg === 'EdDSA' ? generateKeyPairSync('ed25519') : generateKeyPairSync('ec', { namedCurve: 'P-256' })
  return { privateKey, publicKey, jwk: { ...publicKey.export({ format: 'jwk' }), kid, alg, use: 'sig' }, kid, alg }
}

async function mintActor(issuerKey, sub, i) {
  const now = Math.floor(Date.now() / 1000)
  return new jose.SignJWT({ roles: ['employee'], department: 'engineering', n: i })
    .setProtectedHeader({ alg: issuerKey.alg, kid: issuerKey.kid, typ: 'at+jwt' })
    .setIssuer(USER_ISSUER)
    .setSubject(sub)
    .setAudience('meshguard')
    .setIssuedAt(now)
    .setExpirationTime(now + 900)
    .setJti(`jti-${i}`)
    .sign(issuerKey.privateKey)
}

/**
 * Median µs per operation. Operations are interleaved round by round (after a warm-up), so load
 * from other processes on a shared machine hits every operation alike; each sample times a batch.
 */
async function measure(ops, { rounds = 40, warmup = 150 } = {}) {
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
  return Object.fromEntries(
    Object.entries(samples).map(([name, list]) => [name, list.sort((a, b) => a - b)[Math.floor(list.length / 2)]]),
  )
}

async function mintTxnToken(ttsKey, sub, i) {
  const now = Math.floor(Date.now() / 1000)
  return new jose.SignJWT({
    txn: `txn-${i}`,
    scope: 'review.read',
    req_wl: `${TD}/gateway`,
    tctx: { user: { roles: ['employee'], attr: { department: 'engineering' } } },
    rctx: { transport: 'https' },
  })
    .setProtectedHeader({ alg: ttsKey.alg, kid: ttsKey.kid, typ: 'txntoken+jwt' })
    .setSubject(sub)
    .setAudience('example.org')
    .setIssuedAt(now)
    .setExpirationTime(now + 300)
    .sign(ttsKey.privateKey)
}

async function benchAlg(alg) {
  const callerKey = keyPair(alg, 'caller-1')
  const idpKey = keyPair(alg, 'idp-1')
  const ttsKey = keyPair(alg, 'tts-1')
  const trust = core.createTrustBundle({
    workloads: [{ issuer: CALLER, keys: { jwks: { keys: [callerKey.jwk] } } }],
    actors: [{ issuer: USER_ISSUER, keys: { jwks: { keys: [idpKey.jwk] } }, audiences: ['meshguard'] }],
    txnTokens: { trustDomain: 'example.org', keys: { jwks: { keys: [ttsKey.jwk] } } },
  })
  const identity = core.createWorkloadIdentity({
    id: CALLER,
    source: core.selfSignedTokenSource({ key: callerKey.privateKey, kid: callerKey.kid }),
  })

  // Distinct token pairs so every cold verification really verifies two signatures: more pairs than
  // the verifier remembers actor-token signatures and parses for (512), cycled in order.
  const PAIRS = 1200
  const pairs = []
  for (let i = 0; i < PAIRS; i++) {
    const actor = await mintActor(idpKey, `user-${i}`, i)
    const headers = await identity.headersFor({ audience: CALLEE, actor, transactionId: `txn-${i}` })
    pairs.push(headers)
  }
  const txnPairs = []
  for (let i = 0; i < PAIRS; i++) {
    const txnToken = await mintTxnToken(ttsKey, `user-${i}`, i)
    txnPairs.push(await identity.headersFor({ audience: CALLEE, txnToken }))
  }
  // Fresh workload tokens (a new minting side each: its cache would hand back the same token) for one
  // actor token and for one Txn-Token: what an inner hop sees on the warm path of a session.
  const oneActor = pairs[0]['x-meshguard-actor']
  const oneTxnToken = txnPairs[0]['txn-token']
  const freshActorPairs = []
  const freshTxnPairs = []
  for (let i = 0; i < PAIRS; i++) {
    const minting = core.createWorkloadIdentity({ id: CALLER, source: core.selfSignedTokenSource({ key: callerKey.privateKey, kid: callerKey.kid }) })
    freshActorPairs.push(await minting.headersFor({ audience: CALLEE, actor: oneActor, transactionId: 'txn-0' }))
    freshTxnPairs.push(await minting.headersFor({ audience: CALLEE, txnToken: oneTxnToken }))
  }
  // Cache off: every call verifies both signatures and runs every check (a new token pair per request).
  // The default checks new signatures on the libuv threadpool (awaited one by one here, so the row
  // is latency with a thread hop, as jose's); `inline` checks them on the calling thread.
  const cold = core.createIdentityVerifier({ audience: CALLEE, trust, cacheSize: 0 })
  const coldInline = core.createIdentityVerifier({ audience: CALLEE, trust, cacheSize: 0, signatureCheck: 'inline' })
  const warm = core.createIdentityVerifier({ audience: CALLEE, trust })
  const warmFresh = core.createIdentityVerifier({ audience: CALLEE, trust, signatureCheck: 'inline' })
  // jose's raw jwtVerify on the same tokens, with imported keys (its best case), minimal options.
  const callerPublic = await jose.importJWK(callerKey.jwk, alg)
  const idpPublic = await jose.importJWK(idpKey.jwk, alg)
  const token = (h) => h.authorization.slice('Bearer '.length)
  const joseWorkload = (h) => jose.jwtVerify(token(h), callerPublic, { algorithms: [alg], audience: CALLEE, issuer: CALLER })
  const joseActor = (h) =>
    jose.jwtVerify(h['x-meshguard-actor'], idpPublic, { algorithms: [alg], audience: 'meshguard', issuer: USER_ISSUER, typ: 'at+jwt' })
  const pair = (i) => pairs[i % PAIRS]
  return measure({
    'verify pair, cold': { op: (i) => cold.verify(pair(i), { actor: 'required' }), batch: 10 },
    'verify pair, cold, inline': { op: (i) => coldInline.verify(pair(i), { actor: 'required' }), batch: 10 },
    'verify pair, cached': { op: () => warm.verify(pairs[0], { actor: 'required' }), batch: 500 },
    'verify pair, fresh workload token': { op: (i) => warmFresh.verify(freshActorPairs[i % PAIRS], { actor: 'required' }), batch: 10 },
    'verify Txn-Token pair, cold': { op: (i) => cold.verify(txnPairs[i % PAIRS], { actor: 'required' }), batch: 10 },
    'verify Txn-Token pair, cold, inline': { op: (i) => coldInline.verify(txnPairs[i % PAIRS], { actor: 'required' }), batch: 10 },
    'verify Txn-Token pair, cached': { op: () => warm.verify(txnPairs[0], { actor: 'required' }), batch: 500 },
    'verify Txn-Token pair, fresh workload token': { op: (i) => warmFresh.verify(freshTxnPairs[i % PAIRS], { actor: 'required' }), batch: 10 },
    'mint headers, cold': { op: (i) => identity.headersFor({ audience: `${TD}/callee-${i}` }), batch: 10 },
    'mint headers with Txn-Token, cached': { op: () => identity.headersFor({ audience: CALLEE, txnToken: oneTxnToken }), batch: 500 },
    'mint headers, cached': { op: () => identity.headersFor({ audience: CALLEE }), batch: 500 },
    'jose jwtVerify, one token': { op: (i) => joseWorkload(pair(i)), batch: 10 },
    'jose jwtVerify, pair': { op: async (i) => (await joseWorkload(pair(i)), await joseActor(pair(i))), batch: 10 },
  })
}


const table = {}
for (const alg of ['EdDSA', 'ES256']) table[alg] = await benchAlg(alg)

const rows = Object.keys(table.EdDSA)
const width = Math.max(...rows.map((r) => r.length))
console.log(`meshguard identity bench (Node ${process.version}, median µs per operation)`)
console.log(`${'operation'.padEnd(width)}  ${'EdDSA'.padStart(10)}  ${'ES256'.padStart(10)}`)
for (const row of rows) {
  console.log(`${row.padEnd(width)}  ${table.EdDSA[row].toFixed(2).padStart(10)}  ${table.ES256[row].toFixed(2).padStart(10)}`)
}
for (const alg of ['EdDSA', 'ES256']) {
  const t = table[alg]
  console.log(
    `${alg}: cold pair / jose pair = ${(t['verify pair, cold'] / t['jose jwtVerify, pair']).toFixed(2)}x ` +
      `(inline ${(t['verify pair, cold, inline'] / t['jose jwtVerify, pair']).toFixed(2)}x); ` +
      `cached pair = ${(t['jose jwtVerify, pair'] / t['verify pair, cached']).toFixed(0)}x faster than jose pair`,
  )
  console.log(
    `${alg}: Txn-Token mode / access-token mode: cold ${(t['verify Txn-Token pair, cold, inline'] / t['verify pair, cold, inline']).toFixed(2)}x, ` +
      `cached ${(t['verify Txn-Token pair, cached'] / t['verify pair, cached']).toFixed(2)}x, ` +
      `fresh workload token ${(t['verify Txn-Token pair, fresh workload token'] / t['verify pair, fresh workload token']).toFixed(2)}x`,
  )
}
