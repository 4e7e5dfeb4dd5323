#!/usr/bin/env node
/**
 * Runs one sample service in its own process: `node examples/demo/src/child.mjs` with a JSON
 * launch request on stdin, `{ "service": "review-service", "config": { ... }, "auditFile": "..." }`,
 * where `config` is the service's `ServiceConfig` with the signing key as a PEM string. Prints
 * one JSON line `{ "url", "id" }` once listening; SIGTERM or SIGINT close it (audit flushed).
 * A service that cannot start (e.g. a policy that does not compile) never listens: it prints every
 * problem, with file and line for policies, to stderr and exits with status 1.
 */
import { formatPolicyIssue, PolicyError } from '@meshguard/core'
import { fileSink } from '@meshguard/core/node'

/** The services this launcher can start, by directory name. */
const SERVICES = {
  gateway: () => import('@meshguard-examples/gateway'),
  'employee-service': () => import('@meshguard-examples/employee-service'),
  'review-service': () => import('@meshguard-examples/review-service'),
  'ai-reporting-agent': () => import('@meshguard-examples/ai-reporting-agent'),
  orders: () => import('@meshguard-examples/orders'),
  payments: () => import('@meshguard-examples/payments'),
}

let input = ''
for await (const chunk of process.stdin) input += chunk
const request = /** @type {{ service: keyof typeof SERVICES, config: any, auditFile?: string }} */ (JSON.parse(input))
const load = SERVICES[request.service]
if (!load) {
  console.error(`unknown service ${JSON.stringify(request.service)}`)
  process.exit(2)
}
const { start } = await load()
const config = { ...request.config, ...(request.auditFile ? { auditSinks: [fileSink({ path: request.auditFile })] } : {}) }
const service = await start(config).catch((/** @type {unknown} */ error) => {
  if (error instanceof PolicyError) for (const issue of error.issues) console.error(`policy error: ${formatPolicyIssue(issue)}`)
  else console.error(error instanceof Error ? error.message : String(error))
  process.exit(1)
})
process.stdout.write(`${JSON.stringify({ url: service.url, id: service.id })}\n`)

let stopping = false
const stop = async () => {
  if (stopping) return
  stopping = true
  await service.close()
  process.exit(0)
}
process.once('SIGTERM', () => void stop())
process.once('SIGINT', () => void stop())
