#!/usr/bin/env node
/**
 * The meshguard demo: `pnpm demo` (or `node examples/demo/run.mjs [--keep] [--mode=wimse|self-signed|access-token]`).
 *
 * Starts the sample system on 127.0.0.1, runs the scripted scenario (including attacks), prints the
 * results table, each request's call tree from the audit log, and where the audit log is. The
 * profile is WIMSE WIT/WPT + Txn-Tokens unless `--mode` names another. Exits 1
 * if any expectation is not met. `--keep` leaves everything running and prints curl commands;
 * Ctrl-C stops it. Every server it started is stopped on exit, Ctrl-C or SIGTERM.
 */
import { mkdtemp } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { policyOperations } from './src/operations.mjs'
import { callTree, palette, resultsTable } from './src/render.mjs'
import { runScenario } from './src/run-scenario.mjs'
import { MODES, startSystem } from './src/system.mjs'

const args = new Set(process.argv.slice(2))
const usage =
  'usage: node examples/demo/run.mjs [--keep] [--mode=MODE]\n' +
  '  --keep       leave the services running and print curl commands (Ctrl-C stops them)\n' +
  `  --mode=MODE  the profile: ${MODES.join(', ')} (default ${MODES[0]})`
if (args.has('--help') || args.has('-h')) {
  console.log(usage)
  process.exit(0)
}
const keep = args.has('--keep')
const modeArg = [...args].find((a) => a.startsWith('--mode='))?.slice('--mode='.length)
const unknown = [...args].filter((a) => a !== '--keep' && !a.startsWith('--mode='))
if (unknown.length > 0 || (modeArg !== undefined && !(/** @type {readonly string[]} */ (MODES).includes(modeArg)))) {
  console.error(usage)
  process.exit(2)
}
const mode = /** @type {import('./src/system.mjs').Mode | undefined} */ (modeArg)
/** What each profile is, in one line. */
const PROFILES = {
  wimse: 'WIMSE WIT/WPT + Txn-Tokens: one WIT issuer key set per callee, a fresh proof per request',
  'self-signed': 'self-signed workload tokens + Txn-Tokens: every callee lists every caller key',
  'access-token': 'self-signed workload tokens, the access token forwarded inward',
}
const colors = palette(Boolean(process.stdout.isTTY) && !process.env.NO_COLOR)

const auditFile = join(await mkdtemp(join(tmpdir(), 'meshguard-demo-')), 'audit.jsonl')
console.log(colors.dim('starting the sample system on 127.0.0.1 …'))
const system = await startSystem({ auditFile, mode })
console.log(`${colors.bold('Profile')}: ${system.mode} ${colors.dim(`(${PROFILES[system.mode]})`)}`)

let stopping = false
const stop = async (/** @type {number} */ code) => {
  if (stopping) return
  stopping = true
  await system.close()
  process.exit(code)
}
process.once('SIGINT', () => void stop(130))
process.once('SIGTERM', () => void stop(143))

try {
  const outcomes = await runScenario(system)
  console.log()
  console.log(
    resultsTable(
      outcomes.map((o) => ({
        caller: o.step.caller,
        onBehalfOf: o.step.onBehalfOf,
        request: o.step.request,
        expected: o.step.expected,
        status: o.status,
        decidedBy: o.decidedBy,
        passed: o.passed,
      })),
      colors,
    ),
  )

  // The proof that the user's access token stops at the edge: every request an inner service
  // received for the users' and the agent's own traffic (through the gateway), as Node saw it.
  const accessTokens = Object.values(system.tokens)
  const inner = outcomes.filter((o) => o.step.caller === 'browser' || o.step.caller === 'scheduler').flatMap((o) => o.received)
  const carrying = inner.filter((r) => r.headers['x-meshguard-actor'] !== undefined || accessTokens.some((t) => JSON.stringify(r.headers).includes(t)))
  const withTxnToken = inner.filter((r) => typeof r.headers['txn-token'] === 'string').length
  console.log(
    `\n${colors.bold('Access tokens at inner services')} ${colors.dim(`(${system.mode} mode)`)}: ` +
      `${carrying.length} of the ${inner.length} requests inner services received for users' traffic carried one; ${withTxnToken} carried a Txn-Token.`,
  )

  console.log(`\n${colors.bold('Call trees')} ${colors.dim('(one per request, from the audit records of every service)')}`)
  outcomes.forEach((o, i) => {
    const trace = o.records.find((r) => r.traceId)?.traceId
    const txn = o.records.find((r) => r.transactionId)?.transactionId
    const ids = [trace ? `trace ${trace}` : '', txn ? `txn ${txn}` : ''].filter(Boolean).join(' · ')
    console.log(`\n${colors.bold(`${i + 1}. ${o.step.request}`)} ${colors.dim(`— ${o.step.point}`)}${ids ? `\n  ${colors.dim(ids)}` : ''}`)
    // The gateway verifies the user's token itself (no workload token at the edge), so its check is
    // the root of the tree rather than an audit record.
    const who = o.step.onBehalfOf.split(' ')[0]
    const refusedAtEdge = o.records.length === 0 && o.status === 401
    const edge = !/ gateway /.test(o.step.request)
      ? undefined
      : refusedAtEdge
        ? `${who} → gateway: access token ${colors.bad('REJECTED')} at the edge ${colors.dim(`(${o.decidedBy}; no service was reached)`)}`
        : `${who} → gateway: access token verified at the edge`
    const lines = callTree(o.records, colors, system.nameOf, edge)
    console.log(lines.length > 0 ? lines.join('\n') : colors.dim('  (refused at the edge: no service was reached)'))
    // List routes: the rows the database returned under the caller's query plan.
    const listed = /** @type {{ reviews?: { id: string, department: string }[] } | undefined} */ (o.body)?.reviews
    if (Array.isArray(listed)) console.log(`  rows: ${listed.length === 0 ? colors.dim('(none)') : listed.map((r) => `${r.id} (${r.department})`).join(', ')}`)
  })

  const failed = outcomes.filter((o) => !o.passed)
  console.log(`\n${colors.bold('Audit log')}: ${system.auditFile} ${colors.dim(`(${system.audit.length} records, JSON lines)`)}`)
  // Operating the policies: a dry run of a change, why one request was denied, and a route table.
  await system.flushAudit()
  console.log(`\n${(await policyOperations(system, colors)).join('\n')}`)
  console.log(
    failed.length === 0
      ? colors.ok(`\nAll ${outcomes.length} expectations met.`)
      : colors.bad(`\n${failed.length} of ${outcomes.length} expectations NOT met: ${failed.map((o) => o.step.request).join('; ')}`),
  )

  if (keep) {
    printCurlCommands()
    console.log(colors.dim('\nServices keep running; press Ctrl-C to stop them.'))
  } else {
    await stop(failed.length === 0 ? 0 : 1)
  }
} catch (err) {
  console.error(err)
  await stop(1)
}

function printCurlCommands() {
  const t = system.tokens
  console.log(`\n${colors.bold('Running')}`)
  for (const [name, url] of Object.entries(system.urls)) console.log(`  ${name.padEnd(10)} ${url}`)
  console.log(`\n${colors.bold('Try it')} ${colors.dim('(tokens are valid for 10 minutes)')}`)
  console.log(`export ALICE='${t.alice}'\nexport HANA='${t.hana}'\nexport ED='${t.ed}'\nexport AGENT='${t.agent}'`)
  const g = system.urls.gateway
  console.log(`curl -i -H "authorization: Bearer $ALICE" ${g}/api/reviews/rv-eng-1     # 200`)
  console.log(`curl -i -H "authorization: Bearer $ALICE" ${g}/api/reviews/rv-sales-1   # 403`)
  console.log(`curl -i -H "authorization: Bearer $HANA"  ${g}/api/reviews/rv-sales-1   # 200`)
  console.log(`curl -i -H "authorization: Bearer $AGENT" ${g}/api/reports/hr-summary   # 200`)
  console.log(`curl -i -H "authorization: Bearer $AGENT" ${g}/api/reports/hr-raw       # 403`)
  console.log(`curl -i -X POST -H "authorization: Bearer $ED" -H 'content-type: application/json' -d '{"item":"desk","amount":42}' ${g}/api/orders   # 201`)
  console.log(`curl -i -H "x-meshguard-actor: $ALICE" ${system.urls.review}/reviews/rv-eng-1   # 401: no workload token`)
  console.log(`tail -f ${system.auditFile}`)
}
