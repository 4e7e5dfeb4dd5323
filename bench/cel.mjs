// Micro-benchmark of the CEL layer: median ns per evaluation of compiled Cerbos conditions.
// Usage: `pnpm bench:cel` (builds, then reads the built @meshguard/core), or
// `node bench/cel.mjs <path to a built cel/index.js>`.
import { pathToFileURL } from 'node:url'

const target = process.argv[2] ?? new URL('../packages/core/dist/cel/index.js', import.meta.url).href
const { compileCel } = await import(target.startsWith('file:') ? target : pathToFileURL(target).href)
// The engine's route: failures come back as values (internal module next to index.js).
const { evaluateQuietly } = await import(new URL('program.js', target.startsWith('file:') ? target : pathToFileURL(target)).href)

const activation = {
  request: {
    principal: {
      id: 'alice',
      roles: ['user', 'hr'],
      attr: { department: 'x', tags: ['a', 'b', 'c'], act: { user: { attr: { department: 'x' } } } },
      policyVersion: 'default',
      scope: '',
    },
    resource: { kind: 'doc', id: '1', attr: { department: 'x', owner: 'alice', amount: 1200 }, policyVersion: 'default', scope: '' },
    auxData: { jwt: {} },
  },
  variables: {},
  constants: {},
  globals: {},
  runtime: { effectiveDerivedRoles: [] },
  now: new Date(),
}

const cases = [
  'R.attr.owner == P.id',
  'request.principal.attr.act.user.attr.department == request.resource.attr.department',
  'request.resource.attr.amount > 1000 && "hr" in P.roles',
  'P.attr.tags.exists(t, t.startsWith("c"))',
  'R.attr.owner.matches("^al.*e$")',
  'hierarchy("a.b.c").ancestorOf(hierarchy("a.b.c.d"))',
]

// Conditions that fail with "no such key", as the engine meets them (evaluationErrors).
const failing = [
  'R.attr.missing == "x"',
  '(P.attr.ip_address.inIPAddrRange("10.20.0.0/16") ? "GB" : "")',
  'R.attr.missing.exists(t, t == "x")',
]

const N = 200_000
let sink = 0
function bench(label, run) {
  for (let i = 0; i < N / 10; i++) sink ^= run()
  const n = Math.max(1000, Math.round(N / 100))
  const rounds = []
  for (let r = 0; r < 9; r++) {
    const start = process.hrtime.bigint()
    for (let i = 0; i < n; i++) sink ^= run()
    rounds.push(Number(process.hrtime.bigint() - start) / n)
  }
  rounds.sort((a, b) => a - b)
  console.log(`${rounds[4].toFixed(0).padStart(6)} ns  ${label}`)
}
for (const source of cases) {
  const program = compileCel(source)
  bench(source, () => (program.evaluate(activation) === true ? 1 : 0))
}
for (const source of failing) {
  const program = compileCel(source)
  bench(`${source}  (fails; engine route)`, () => (typeof evaluateQuietly(program, activation) === 'object' ? 1 : 0))
  bench(`${source}  (fails; evaluate() throws)`, () => {
    try {
      program.evaluate(activation)
      return 0
    } catch {
      return 1
    }
  })
}
if (sink === 2) console.log('unreachable')
