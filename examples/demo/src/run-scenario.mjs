/**
 * Runs the scenario against a running system, one step at a time, and attributes audit records to
 * the step that caused them (steps never overlap, and each step waits for every service to flush).
 */
import { scenarioFor } from './scenario.mjs'
import { planKindName } from './render.mjs'

/**
 * @typedef {object} StepOutcome
 * @property {import('./scenario.mjs').Step} step
 * @property {number} status
 * @property {any} body
 * @property {any[]} records    audit records this step produced, in order
 * @property {{ service: string, headers: Record<string, string | string[] | undefined> }[]} received
 *   the requests inner services received during this step (headers only)
 * @property {boolean} passed
 * @property {string} decidedBy the deciding policy, or the reason of the refusal
 */

/**
 * @param {import('./system.mjs').System} system
 * @param {import('./scenario.mjs').Step[]} [steps]
 * @returns {Promise<StepOutcome[]>}
 */
export async function runScenario(system, steps = scenarioFor(system.mode)) {
  /** @type {StepOutcome[]} */
  const outcomes = []
  for (const step of steps) {
    const first = system.audit.length
    const firstReceived = system.received.length
    /** @type {{ status: number, body: any }} */
    let response
    try {
      response = await step.send(system)
    } catch (err) {
      response = { status: 0, body: { reason: err instanceof Error ? err.message : String(err) } }
    }
    await system.flushAudit()
    const records = inDecisionOrder(system.audit.slice(first))
    outcomes.push({
      step,
      status: response.status,
      body: response.body,
      records,
      received: system.received.slice(firstReceived),
      passed: response.status === step.expected,
      decidedBy: decidedBy(records, response.body),
    })
  }
  return outcomes
}

/**
 * A step's records in the order its hops decided: by time, and within one millisecond a caller
 * before its callees (a longer delegation chain is a deeper hop). Each service's audit log writes
 * in batches, so the order records reach the shared sink says nothing across services.
 * @param {any[]} records
 */
function inDecisionOrder(records) {
  const depth = (/** @type {any} */ r) => r.delegation?.length ?? 0
  return [...records].sort((a, b) => (a.timestamp < b.timestamp ? -1 : a.timestamp > b.timestamp ? 1 : depth(a) - depth(b)))
}

/** A list route's hop: `plan: conditional`, `plan: always denied`, ... */
const planOf = (/** @type {any} */ record) => (record.planKind ? `plan: ${planKindName(record.planKind)}` : undefined)

/**
 * The hop that refused decides; when every hop allowed, the innermost policy is named.
 * @param {any[]} records
 * @param {any} body
 */
export function decidedBy(records, body) {
  const refusal = records.find((r) => r.outcome !== 'allowed')
  if (refusal) return refusal.outcome === 'denied' ? (refusal.policy ?? planOf(refusal) ?? 'denied') : (refusal.reason ?? refusal.outcome)
  const last = records.at(-1)
  if (last?.policy) return last.policy
  if (last?.planKind) return planOf(last)
  return typeof body?.reason === 'string' ? body.reason : ''
}
