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
import { measure } from './measure.mjs'

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

/** Median µs per operation of each of `ops`, interleaved round by round (bench/measure.mjs). */
const measureOps = async (ops, options) => (await measure(ops, options)).results

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
  return measureOps({
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

/**
 * The added cost of the optional checks, EdDSA, each beside the same operation without it:
 *   - OIDC discovery: cold (a new verifier's first verification: discovery document and JWKS
 *     fetched over loopback HTTP) beside inline keys, and warm (a new pair, keys discovered) beside inline keys;
 *   - one-time use (`replay`): a new workload token per request, verified with no replay store,
 *     the in-memory store and Redis (when redis-server can be started), and one store operation alone;
 *   - revocation on a cached pair (a revocation list, a hook whose answer is cached) beside none;
 *   - DPoP at the edge: a bound token with a new proof per request beside a plain bearer token.
 */
async function benchOptions() {
  const callerKey = keyPair('EdDSA', 'caller-1')
  const idpKey = keyPair('EdDSA', 'idp-1')
  const { createServer } = await import('node:http')
  const server = createServer((req, res) => {
    const issuer = `http://127.0.0.1:${server.address().port}`
    if (req.url === '/.well-known/openid-configuration') return res.end(JSON.stringify({ issuer, jwks_uri: `${issuer}/keys` }))
    if (req.url === '/revoked') return res.end(JSON.stringify({ revoked: [{ sub: 'someone-else' }] }))
    res.end(JSON.stringify({ keys: [idpKey.jwk] }))
  })
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
  const issuer = `http://127.0.0.1:${server.address().port}`
  const workloads = [{ issuer: CALLER, keys: { jwks: { keys: [callerKey.jwk] } } }]
  const identity = core.createWorkloadIdentity({ id: CALLER, source: core.selfSignedTokenSource({ key: callerKey.privateKey, kid: callerKey.kid }) })
  const mintFor = async (iss, i) => {
    const now = Math.floor(Date.now() / 1000)
    const actor = await new jose.SignJWT({ roles: ['employee'] })
      .setProtectedHeader({ alg: 'EdDSA', kid: idpKey.kid, typ: 'at+jwt' })
      .setIssuer(iss).setSubject(`user-${i}`).setAudience('meshguard').setIssuedAt(now).setExpirationTime(now + 900).setJti(`a-${i}`)
      .sign(idpKey.privateKey)
    return identity.headersFor({ audience: CALLEE, actor, transactionId: `txn-${i}` })
  }
  const N = 1200
  const discoveredPairs = []
  const inlinePairs = []
  for (let i = 0; i < N; i++) {
    discoveredPairs.push(await mintFor(issuer, i))
    inlinePairs.push(await mintFor(USER_ISSUER, i))
  }
  const inlineTrust = { workloads, actors: [{ issuer: USER_ISSUER, keys: { jwks: { keys: [idpKey.jwk] } }, audiences: ['meshguard'] }] }
  const discoveredTrust = { workloads, actors: [{ issuer, audiences: ['meshguard'] }] }
  const verifierOf = (trust, extra = {}) => core.createIdentityVerifier({ audience: CALLEE, trust, cacheSize: 0, signatureCheck: 'inline', ...extra })
  const warmDiscovered = verifierOf(discoveredTrust)
  const warmInline = verifierOf(inlineTrust)
  await warmDiscovered.verify(discoveredPairs[0])

  // Workload tokens alone, each used once: replay off, in memory, in Redis.
  const singles = []
  for (let i = 0; i < 5000; i++) singles.push({ authorization: (await identity.headersFor({ audience: CALLEE, transactionId: `t-${i}` })).authorization })
  // headersFor caches per audience and txn: every token is new because every txn is.
  const ops = {
    'discovery, cold: first pair': { op: (i) => verifierOf(discoveredTrust).verify(discoveredPairs[i % N]), batch: 2 },
    'inline keys, cold: first pair': { op: (i) => verifierOf(inlineTrust).verify(inlinePairs[i % N]), batch: 2 },
    'discovery, warm: new pair': { op: (i) => warmDiscovered.verify(discoveredPairs[i % N]), batch: 10 },
    'inline keys, warm: new pair': { op: (i) => warmInline.verify(inlinePairs[i % N]), batch: 10 },
  }
  let next = 0
  const single = () => singles[next++ % singles.length]
  const noReplay = verifierOf({ workloads })
  const memoryReplay = verifierOf({ workloads }, { replay: {} })
  ops['workload token, replay off'] = { op: () => noReplay.verify(single()), batch: 10 }
  ops['workload token, replay in memory'] = { op: () => memoryReplay.verify(single()), batch: 10 }
  const memoryStore = core.createMemoryReplayStore()
  ops['memory store consume alone'] = { op: (i) => memoryStore.consume(`key-${i}`, Date.now() + 60_000, Date.now()), batch: 500 }
  // Revocation on the hot path: a cached pair, with a (loopback) revocation list and with a hook whose answer is cached.
  const cachedOf = (extra) => core.createIdentityVerifier({ audience: CALLEE, trust: inlineTrust, ...extra })
  const plainCached = cachedOf({})
  const listCached = cachedOf({ revocation: { list: { url: `${issuer}/revoked` } } })
  const hookCached = cachedOf({ revocation: { check: () => false } })
  for (const v of [plainCached, listCached, hookCached]) for (let i = 0; i < 3; i++) await v.verify(inlinePairs[0])
  ops['cached pair, no revocation'] = { op: () => plainCached.verify(inlinePairs[0]), batch: 500 }
  ops['cached pair, revocation list'] = { op: () => listCached.verify(inlinePairs[0]), batch: 500 }
  ops['cached pair, revocation hook (cached)'] = { op: () => hookCached.verify(inlinePairs[0]), batch: 500 }

  // DPoP at the edge: a bound token with a new proof per request, beside the same token as a plain bearer token.
  const { generateKeyPairSync: keys, sign: signWith, createHash, randomUUID } = await import('node:crypto')
  const client = keys('ec', { namedCurve: 'P-256' })
  const clientJwk = client.publicKey.export({ format: 'jwk' })
  const now = Math.floor(Date.now() / 1000)
  const accessToken = (cnf) =>
    new jose.SignJWT({ roles: ['employee'], ...(cnf ? { cnf } : {}) })
      .setProtectedHeader({ alg: 'EdDSA', kid: idpKey.kid, typ: 'at+jwt' })
      .setIssuer(USER_ISSUER).setSubject('alice').setAudience('meshguard').setIssuedAt(now).setExpirationTime(now + 900)
      .sign(idpKey.privateKey)
  const boundToken = await accessToken({ jkt: core.jwkThumbprint(clientJwk) })
  const bearerToken = await accessToken(undefined)
  const htu = 'https://gateway.example/api/reviews'
  const b64 = (v) => Buffer.from(JSON.stringify(v)).toString('base64url')
  const ath = createHash('sha256').update(boundToken).digest('base64url')
  const proofs = []
  for (let i = 0; i < 3000; i++) {
    const input = `${b64({ typ: 'dpop+jwt', alg: 'ES256', jwk: clientJwk })}.${b64({ jti: randomUUID(), htm: 'GET', htu, iat: now, ath })}`
    proofs.push(`${input}.${signWith('sha256', Buffer.from(input), { key: client.privateKey, dsaEncoding: 'ieee-p1363' }).toString('base64url')}`)
  }
  const edge = core.createEdgeVerifier({ trust: inlineTrust })
  let proofIndex = 0
  ops['edge, bearer token'] = { op: () => edge.verify({ method: 'GET', url: htu, headers: { authorization: `Bearer ${bearerToken}` } }), batch: 50 }
  ops['edge, DPoP token + new proof'] = {
    op: () => edge.verify({ method: 'GET', url: htu, headers: { authorization: `DPoP ${boundToken}`, dpop: proofs[proofIndex++ % proofs.length] } }),
    batch: 10,
  }

  let redisServer
  let redis
  try {
    const { startRedisServer } = await import('../scripts/redis-server.mjs')
    const requireFromRoot = createRequire(import.meta.url)
    const { createClient } = await import(pathToFileURL(requireFromRoot.resolve('redis')).href)
    redisServer = await startRedisServer()
    redis = await createClient({ url: redisServer.url, disableOfflineQueue: true }).on('error', () => undefined).connect()
    const store = core.redisReplayStore(redis)
    const redisReplay = verifierOf({ workloads }, { replay: { store } })
    ops['workload token, replay in Redis'] = { op: () => redisReplay.verify(single()), batch: 10 }
    ops['Redis store consume alone'] = { op: (i) => store.consume(`key-${i}-${Math.random()}`, Date.now() + 60_000, Date.now()), batch: 20 }
  } catch (err) {
    console.log(`Redis rows not measured: ${err instanceof Error ? err.message : String(err)}`)
  }
  try {
    return await measureOps(ops, { rounds: 30, warmup: 20 })
  } finally {
    await redis?.close()
    await redisServer?.stop()
    server.close()
  }
}

const table = {}
for (const alg of ['EdDSA', 'ES256']) table[alg] = await benchAlg(alg)
const options = await benchOptions()

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

const optionWidth = Math.max(...Object.keys(options).map((r) => r.length))
console.log(`\noptional checks (EdDSA, inline signatures, median µs per operation)`)
for (const [row, value] of Object.entries(options)) console.log(`${row.padEnd(optionWidth)}  ${value.toFixed(2).padStart(10)}`)
const added = (a, b) => (options[a] !== undefined && options[b] !== undefined ? `${(options[a] - options[b]).toFixed(2)} µs` : 'not measured')
console.log(`discovery: cold first pair +${added('discovery, cold: first pair', 'inline keys, cold: first pair')} over inline keys (two loopback fetches); warm ${added('discovery, warm: new pair', 'inline keys, warm: new pair')}`)
console.log(`revocation on a cached pair: list ${added('cached pair, revocation list', 'cached pair, no revocation')}, hook ${added('cached pair, revocation hook (cached)', 'cached pair, no revocation')} per request`)
console.log(`DPoP at the edge: proof check ${added('edge, DPoP token + new proof', 'edge, bearer token')} per request`)
console.log(`replay: in memory ${added('workload token, replay in memory', 'workload token, replay off')} per request; in Redis ${added('workload token, replay in Redis', 'workload token, replay off')} per request`)
