#!/usr/bin/env node
// Mutation check of the security guards: removes each guard in turn and runs the tests that must
// notice, and reports whether they did. A guard whose mutant survives has no test.
//
// It never edits the caller's tree: the tracked and untracked (not ignored) files are copied to a
// temporary directory, with the node_modules links recreated there (the package store itself is
// shared, read-only), and every mutant is applied and tested in that copy, which is removed at the
// end, on failure and on SIGINT/SIGTERM/SIGHUP.
//
// Run: node scripts/mutation-check.mjs [--only id,id,...] [--build] [--list] [name-filter]
//   --only   the mutants with these ids (see --list); a name-filter keeps those whose name contains it
//   --build  rebuild the copy (tsc -b) after each mutation, for tests that run built code (the
//            listed tests import the sources, so by default nothing is rebuilt)
//   --list   print the mutants with their ids and tests, and exit
// Exit code 0 when every selected mutant was killed, 1 otherwise. Not part of `pnpm test` (minutes).
import { execFileSync, spawn } from 'node:child_process'
import { cpSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'

const ROOT = fileURLToPath(new URL('..', import.meta.url))
const HTTP = ['test/security/threats.test.ts', 'test/security/authority-http.test.ts']
const OWN = ['packages/core/test/engine/own-properties.test.ts']
const TXN = ['packages/core/test/identity/txn-token.test.ts', 'test/security/txn-threats.test.ts']

/**
 * Each mutant: an id, what it breaks, the file, the guard as written (it must occur exactly once),
 * the guard removed, and the tests that must fail.
 */
const MUTANTS = [
  { id: 'self-signed-claims', name: 'self-signed claims reach the mapping', file: 'packages/core/src/identity/verify/token-pair.ts',
    guard: 'const asserted = authoritativeClaims(workload.claims, selfSigned ? undefined : anchor.authoritativeClaims)', mutant: 'const asserted = workload.claims', tests: HTTP },
  { id: 'self-written-chain', name: 'a self-written chain is evidence', file: 'packages/core/src/identity/verify/token-pair.ts',
    guard: 'checkActorIssuedTo(side.actorChain, workload.id.id, provenChain)', mutant: 'checkActorIssuedTo(side.actorChain, workload.id.id, workloadChain)', tests: HTTP },
  { id: 'attr-prototype', name: 'attribute objects have a prototype', file: 'packages/core/src/internal/own.ts',
    guard: 'return Object.create(null) as Record<string, unknown>', mutant: 'return {} as Record<string, unknown>', tests: HTTP },
  { id: 'fast-path-constructor', name: 'the fast path trusts constructor alone', file: 'packages/core/src/cel/fast-path.ts',
    guard: 'return proto === Object.prototype || proto === null\n}', mutant: 'return proto !== 42\n}', tests: OWN },
  { id: 'set-own-proto', name: 'setOwn assigns __proto__', file: 'packages/core/src/internal/own.ts', guard: "if (key === '__proto__')", mutant: "if (key === 'never')", tests: OWN },
  { id: 'actor-id-prefix', name: 'actor ids not issuer-qualified', file: 'packages/core/src/identity/verify/actor-side.ts',
    guard: 'const id = actorIdPrefix + mapped.id', mutant: 'const id = mapped.id', tests: HTTP },
  { id: 'overlapping-prefixes', name: 'overlapping id prefixes accepted', file: 'packages/core/src/identity/trust/trust-bundle.ts',
    guard: 'if (i !== j && (prefixes[j] as string).startsWith(prefixes[i] as string))', mutant: 'if (i !== j && false)', tests: HTTP },
  { id: 'cache-times', name: 'cache skips the time rules', file: 'packages/core/src/identity/verify/verifier.ts',
    guard: 'if (!timesHold(workload, second) || (actor !== undefined && !timesHold(actor, second))) return false', mutant: 'if (second < 0) return false',
    tests: ['test/security/cache-agreement.test.ts', 'test/security/threats.test.ts'] },
  { id: 'cache-key-membership', name: 'cache skips key membership', file: 'packages/core/src/identity/verify/verifier.ts',
    guard: 'return stillTrusted(workload.key) && (actor === undefined || stillTrusted(actor.key))', mutant: 'return stillTrusted !== undefined',
    tests: ['test/security/cache-agreement.test.ts', 'test/security/threats.test.ts'] },
  { id: 'redirect-identity', name: 'a departed redirect chain carries identity', file: 'packages/client/src/interceptor.ts',
    guard: 'if (destination === undefined || departedPlans.has(plan))', mutant: 'if (destination === undefined)', tests: ['packages/client/test/redirects.test.ts', 'test/security/threats.test.ts'] },
  { id: 'jws-json-header', name: 'JWS JSON read as duplicates', file: 'packages/core/src/identity/headers.ts',
    guard: "if (tokenKind !== undefined && value.includes('{')) throw", mutant: "if (tokenKind !== undefined && value.includes('\\u0000{')) throw", tests: HTTP },
  { id: 'header-size', name: 'size checked after the scan', file: 'packages/core/src/identity/headers.ts',
    guard: 'if (maxBytes !== undefined && value.length > maxBytes) {', mutant: 'if (maxBytes !== undefined && value.length < 0) {', tests: HTTP },
  // Txn-Tokens, the edge, replay, revocation and DPoP.
  { id: 'txn-tth', name: 'a workload token bound to another Txn-Token is accepted (tth not compared)', file: 'packages/core/src/identity/verify/txn-binding.ts',
    guard: 'if (tth !== txnTokenDigest) throw', mutant: "if (typeof tth !== 'string') throw", tests: TXN },
  { id: 'txn-aud', name: 'a Txn-Token of another trust domain is accepted (aud not compared)', file: 'packages/core/src/identity/verify/txn-token.ts',
    guard: 'if (!list.includes(trustDomain)) throw', mutant: 'if (list.length === 0) throw', tests: TXN },
  { id: 'replay-set-nx', name: 'the shared replay store overwrites instead of SET NX', file: 'packages/core/src/identity/verify/replay.ts',
    guard: "client.sendCommand(['SET', prefix + key, '1', 'PX', ttl, 'NX'])", mutant: "client.sendCommand(['SET', prefix + key, '1', 'PX', ttl])", tests: ['test/identity/replay-redis.test.ts'] },
  { id: 'revocation-cached', name: 'a cached verification skips revocation (and token use)', file: 'packages/core/src/identity/verify/verifier.ts',
    guard: '    cacheHits++\n    return answer(verified, headerTxn, callOptions.newTransactionId, requirement)',
    mutant: '    cacheHits++\n    return new CallerRecord(verified, verified.tokenTxn ?? headerTxn ?? callOptions.newTransactionId ?? newRequestId())',
    tests: ['packages/core/test/identity/revocation.test.ts', 'test/identity/revocation.test.ts'] },
  { id: 'dpop-thumbprint', name: 'a DPoP proof signed by another key is accepted (thumbprint not compared)', file: 'packages/core/src/identity/verify/dpop.ts',
    guard: 'if (jwkThumbprint(members) !== context.jkt) throw', mutant: 'if (jwkThumbprint(members) === undefined) throw', tests: ['test/identity/dpop-edge.test.ts'] },
  { id: 'edge-fallback', name: 'the edge goes on without a Txn-Token when the token service fails', file: 'packages/core/src/pipeline/guard.ts',
    guard: '          (exchanged) => this.withCaller(facts, span, view, route, exchanged as unknown as Caller),\n          (err: unknown) => this.failed(facts, caller, span, err),',
    mutant: '          (exchanged) => this.withCaller(facts, span, view, route, exchanged as unknown as Caller),\n          () => this.withCaller(facts, span, view, { ...route, scope: undefined }, caller),',
    tests: ['test/identity/txn-hop.test.ts'] },
  { id: 'tts-scope-narrowing', name: 'the token service issues a scope wider than the subject token allows', file: 'packages/txn-token-service/src/scope.ts',
    guard: "if (wider.length > 0) throw refuse.scope('scope_too_wide'", mutant: "if (wider.length > requested.length) throw refuse.scope('scope_too_wide'",
    tests: ['packages/txn-token-service/test/refusals.test.ts'] },
]

const { values: options, positionals } = parseArgs({
  options: { only: { type: 'string' }, build: { type: 'boolean' }, list: { type: 'boolean' } },
  allowPositionals: true,
})

if (options.list) {
  for (const m of MUTANTS) console.log(`${m.id.padEnd(22)} ${m.name}\n${' '.repeat(23)}${m.tests.join(' ')}`)
  process.exit(0)
}

const only = options.only?.split(',').map((id) => id.trim()).filter((id) => id !== '')
const unknown = only?.filter((id) => !MUTANTS.some((m) => m.id === id)) ?? []
if (unknown.length > 0) {
  console.error(`unknown mutant id(s): ${unknown.join(', ')} (see --list)`)
  process.exit(2)
}
const filter = positionals[0]
const selected = MUTANTS.filter((m) => (only === undefined || only.includes(m.id)) && (filter === undefined || m.name.includes(filter)))

// Every guard must be where the list says, exactly once: a mutant applied elsewhere proves nothing.
for (const m of selected) {
  const count = readFileSync(join(ROOT, m.file), 'utf8').split(m.guard).length - 1
  if (count !== 1) {
    console.error(`${m.id}: the guard occurs ${count} times in ${m.file} (must be exactly once)`)
    process.exit(2)
  }
}

// ---------------------------------------------------------------------------------------------
// The throwaway copy.

/** Recreates a node_modules directory: links as they are (relative ones then resolve inside the copy), scope folders entry by entry, anything else linked to the original. */
function mirrorNodeModules(from, to) {
  mkdirSync(to, { recursive: true })
  for (const name of readdirSync(from)) {
    // Tool caches are per tree; the copy makes its own.
    if (name === '.vite' || name === '.vite-temp' || name === '.vitest') continue
    const source = join(from, name)
    const target = join(to, name)
    const stat = lstatSync(source)
    if (stat.isSymbolicLink()) symlinkSync(readlinkSync(source), target)
    else if (stat.isDirectory() && name.startsWith('@')) mirrorNodeModules(source, target)
    else symlinkSync(source, target)
  }
}

/** Copies the caller's working state (tracked and untracked, not ignored files; built output) into `dir`. */
function copyTree(dir) {
  const files = execFileSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], { cwd: ROOT, maxBuffer: 64 << 20 })
    .toString('utf8')
    .split('\0')
    .filter((file) => file !== '' && existsSync(join(ROOT, file)))
  for (const file of files) {
    mkdirSync(dirname(join(dir, file)), { recursive: true })
    cpSync(join(ROOT, file), join(dir, file), { preserveTimestamps: true, verbatimSymlinks: true })
  }
  const packageDirs = new Set(['.', ...files.filter((f) => f.endsWith('package.json') && !f.includes('node_modules/')).map((f) => dirname(f))])
  for (const pkg of packageDirs) {
    if (existsSync(join(ROOT, pkg, 'node_modules'))) mirrorNodeModules(join(ROOT, pkg, 'node_modules'), join(dir, pkg, 'node_modules'))
    if (existsSync(join(ROOT, pkg, 'dist'))) cpSync(join(ROOT, pkg, 'dist'), join(dir, pkg, 'dist'), { recursive: true, preserveTimestamps: true })
  }
}

let copy
let running
function cleanUp() {
  if (running !== undefined && running.exitCode === null) {
    try {
      process.kill(-running.pid, 'SIGKILL')
    } catch {
      // Already gone.
    }
  }
  if (copy !== undefined) rmSync(copy, { recursive: true, force: true })
  copy = undefined
}
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(signal, () => {
    cleanUp()
    process.exit(130)
  })
}

/** Runs a command in the copy (its own process group, so an interrupt ends all of it); resolves to its exit code and output. */
function run(args) {
  return new Promise((resolve, reject) => {
    let output = ''
    running = spawn(process.execPath, args, { cwd: copy, detached: true, stdio: ['ignore', 'pipe', 'pipe'] })
    running.stdout.on('data', (chunk) => (output += chunk))
    running.stderr.on('data', (chunk) => (output += chunk))
    running.on('error', reject)
    running.on('close', (code) => resolve({ code, output }))
  })
}

// ---------------------------------------------------------------------------------------------

let survived = 0
try {
  copy = mkdtempSync(join(tmpdir(), 'meshguard-mutants-'))
  copyTree(copy)
  console.log(`${selected.length} mutant(s), tested in a copy at ${copy}`)
  for (const m of selected) {
    const path = join(copy, m.file)
    const original = readFileSync(path, 'utf8')
    writeFileSync(path, original.replace(m.guard, m.mutant))
    try {
      // Type errors of a mutant still emit; the tests decide.
      if (options.build) await run(['node_modules/typescript/bin/tsc', '-b'])
      const { code, output } = await run(['node_modules/vitest/vitest.mjs', 'run', ...m.tests])
      // Killed only when a test ran and failed; a run that failed otherwise (no tests, a crash) proves nothing.
      const summary = /Tests: (\d+) passed, (\d+) failed/.exec(output)
      const failed = summary === null ? 0 : Number(summary[2])
      const verdict = failed > 0 ? 'killed  ' : code === 0 ? 'SURVIVED' : 'ERROR   '
      if (failed === 0) survived++
      console.log(`${verdict}  ${m.id.padEnd(22)} ${m.name}${summary === null ? '' : `  (${summary[1]} passed, ${summary[2]} failed)`}`)
      if (failed === 0 && code !== 0) console.log(output.split('\n').slice(-30).join('\n'))
    } finally {
      writeFileSync(path, original)
    }
  }
} finally {
  cleanUp()
}
console.log(survived === 0 ? 'every mutant was killed' : `${survived} mutant(s) not killed`)
process.exitCode = survived === 0 ? 0 : 1
