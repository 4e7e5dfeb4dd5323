#!/usr/bin/env node
// Mutation check of the authority guards (issue: no caller grants itself privilege): removes each
// guard in turn, rebuilds, runs the tests that must notice, and reports whether they did.
// Run: node scripts/mutation-check.mjs [name-filter]  (a few minutes; not part of `pnpm test`).
import { execSync } from 'node:child_process'
import { readFileSync, writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

const ROOT = fileURLToPath(new URL('..', import.meta.url))
const HTTP = ['test/security/threats.test.ts', 'test/security/authority-http.test.ts']
const OWN = ['packages/core/test/engine/own-properties.test.ts']

/** [name, file, guard as written, guard removed, tests that must fail]. */
const MUTANTS = [
  ['self-signed claims reach the mapping', 'packages/core/src/identity/verify/token-pair.ts',
    'const asserted = authoritativeClaims(workload.claims, selfSigned ? undefined : anchor.authoritativeClaims)', 'const asserted = workload.claims', HTTP],
  ['a self-written chain is evidence', 'packages/core/src/identity/verify/token-pair.ts',
    'checkActorIssuedTo(side.actorChain, workload.id.id, provenChain)', 'checkActorIssuedTo(side.actorChain, workload.id.id, workloadChain)', HTTP],
  ['attribute objects have a prototype', 'packages/core/src/internal/own.ts',
    'return Object.create(null) as Record<string, unknown>', 'return {} as Record<string, unknown>', HTTP],
  ['the fast path trusts constructor alone', 'packages/core/src/cel/fast-path.ts',
    'return proto === Object.prototype || proto === null\n}', 'return proto !== 42\n}', OWN],
  ['setOwn assigns __proto__', 'packages/core/src/internal/own.ts', "if (key === '__proto__')", "if (key === 'never')", OWN],
  ['actor ids not issuer-qualified', 'packages/core/src/identity/verify/actor-side.ts', 'const id = actorIdPrefix + mapped.id', 'const id = mapped.id', HTTP],
  ['overlapping id prefixes accepted', 'packages/core/src/identity/trust/trust-bundle.ts',
    'if (i !== j && (prefixes[j] as string).startsWith(prefixes[i] as string))', 'if (i !== j && false)', HTTP],
  ['cache skips the time rules', 'packages/core/src/identity/verify/verifier.ts',
    'if (!timesHold(workload, second) || (actor !== undefined && !timesHold(actor, second))) return false', 'if (second < 0) return false',
    ['test/security/cache-agreement.test.ts', 'test/security/threats.test.ts']],
  ['cache skips key membership', 'packages/core/src/identity/verify/verifier.ts',
    'return stillTrusted(workload.key) && (actor === undefined || stillTrusted(actor.key))', 'return stillTrusted !== undefined',
    ['test/security/cache-agreement.test.ts', 'test/security/threats.test.ts']],
  ['a departed redirect chain carries identity', 'packages/client/src/interceptor.ts',
    'if (destination === undefined || departedPlans.has(plan))', 'if (destination === undefined)', ['packages/client/test/redirects.test.ts', 'test/security/threats.test.ts']],
  ['JWS JSON read as duplicates', 'packages/core/src/identity/headers.ts', "if (tokenKind !== undefined && value.includes('{')) throw", "if (tokenKind !== undefined && value.includes('\\u0000{')) throw", HTTP],
  ['size checked after the scan', 'packages/core/src/identity/headers.ts',
    'if (maxBytes !== undefined && value.length > maxBytes) {', 'if (maxBytes !== undefined && value.length < 0) {', HTTP],
]

const filter = process.argv[2]
let survived = 0
for (const [name, file, guard, removed, tests] of MUTANTS) {
  if (filter !== undefined && !name.includes(filter)) continue
  const path = ROOT + file
  const original = readFileSync(path, 'utf8')
  if (!original.includes(guard)) throw new Error(`${name}: guard not found in ${file}`)
  writeFileSync(path, original.replace(guard, removed))
  let failed = false
  try {
    execSync('npx tsc -b', { cwd: ROOT, stdio: 'ignore' })
  } catch {
    // Unused-symbol errors still emit; the tests decide.
  }
  try {
    execSync(`npx vitest run ${tests.join(' ')}`, { cwd: ROOT, stdio: 'ignore' })
  } catch {
    failed = true
  } finally {
    writeFileSync(path, original)
  }
  if (!failed) survived++
  console.log(`${failed ? 'caught  ' : 'SURVIVED'}  ${name}`)
}
execSync('npx tsc -b', { cwd: ROOT, stdio: 'inherit' })
console.log(survived === 0 ? 'every mutant was caught' : `${survived} mutant(s) survived`)
process.exitCode = survived === 0 ? 0 : 1
