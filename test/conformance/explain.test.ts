/**
 * Explain agrees with the decision on every Cerbos engine case: for every action, the explanation
 * gives the effect and policy the plain check returned, and the rule it names as deciding is one
 * it considered, that held, and whose effect was returned (or whose condition failed under strict
 * evaluation). Every allow names its rule.
 */
import { describe, expect, it } from 'vitest'
import { EmbeddedEngine, loadPolicyDirectory, type CheckInput, type CheckResourcesRequest, type EmbeddedEngineOptions } from '@meshguard/core'
import { CERBOS_STORE_DIR, CERBOS_TEST_GLOBALS, loadEngineCases } from './support/cerbos-cases.js'

const RUNS: Array<{ dir: string; options: EmbeddedEngineOptions }> = [
  { dir: 'engine', options: {} },
  { dir: 'engine', options: { lenientScopeSearch: true } },
  { dir: 'engine', options: { strictEvaluation: true } },
  { dir: 'engine_schema_enforcement/reject', options: { schemaEnforcement: 'reject' } },
]

function requestOf(input: CheckInput): CheckResourcesRequest {
  const request: CheckResourcesRequest = { principal: input.principal, resources: [{ resource: input.resource, actions: input.actions }], includeMeta: true }
  if (input.auxData?.jwt !== undefined) request.auxData = { jwt: input.auxData.jwt }
  return request
}

describe('explain agrees with the decision (Cerbos engine cases)', () => {
  it('names the deciding rule of every decision, with the effect and policy the check returned', async () => {
    const store = await loadPolicyDirectory(CERBOS_STORE_DIR)
    let actions = 0
    let withRule = 0
    const disagreements: string[] = []
    for (const run of RUNS) {
      // A fixed clock: the check and the explain pass must see the same instant.
      const engine = new EmbeddedEngine(store, { globals: { ...CERBOS_TEST_GLOBALS }, now: () => new Date('2024-01-02T03:04:05Z'), ...run.options })
      for (const c of await loadEngineCases(run.dir)) {
        for (const input of c.inputs as unknown as CheckInput[]) {
          let request: CheckResourcesRequest
          let plain
          try {
            request = requestOf(input)
            plain = engine.checkResourcesSync(request).results[0]!
          } catch {
            continue // a malformed case input is refused by both
          }
          const { response, explanation } = engine.explainSync(request)
          const explained = explanation.resources[0]!
          for (const action of explained.actions) {
            actions++
            const id = `${run.dir} ${JSON.stringify(run.options)} ${c.name} ${input.resource.kind}:${input.resource.id} ${action.action}`
            const meta = plain.meta?.actions[action.action]
            if (action.effect !== plain.actions[action.action] || action.effect !== response.results[0]!.actions[action.action]) disagreements.push(`${id}: effect`)
            if (meta === undefined || action.policy !== meta.matchedPolicy || action.rule !== meta.matchedRule) disagreements.push(`${id}: attribution`)
            const decided = action.rules.filter((r) => r.decided === true)
            if (action.rule === undefined) {
              if (decided.length !== 0) disagreements.push(`${id}: marks a rule without naming one`)
              if (action.effect === 'EFFECT_ALLOW') disagreements.push(`${id}: an allow without a rule`)
              if (action.note === undefined) disagreements.push(`${id}: no note`)
              continue
            }
            withRule++
            const [rule] = decided
            if (decided.length !== 1 || rule === undefined) {
              disagreements.push(`${id}: ${decided.length} rules marked deciding`)
              continue
            }
            if (`${rule.policy}#${rule.rule}` !== action.rule) disagreements.push(`${id}: marked ${rule.policy}#${rule.rule}`)
            const fired = rule.matched === true && rule.effect === action.effect
            const failedStrict = rule.matched === 'error' && run.options.strictEvaluation === true && action.effect === 'EFFECT_DENY'
            if (!fired && !failedStrict) disagreements.push(`${id}: deciding rule matched=${String(rule.matched)} effect=${rule.effect}`)
          }
        }
      }
    }
    expect(disagreements).toEqual([])
    // The suite decides hundreds of actions, most by a named rule.
    expect(actions).toBeGreaterThan(200)
    expect(withRule).toBeGreaterThan(100)
  }, 120_000)
})
