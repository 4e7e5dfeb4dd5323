/**
 * The in-memory predicate of a query plan agrees with checkResources: for random principals,
 * resources and actions (drawn from each policy directory's vocabulary, fast-check), planning the
 * resource kind and testing the resource against the plan's predicate gives the same answer as
 * checking the resource (every action allowed). Where the check itself met CEL errors (a missing or
 * mistyped attribute), Cerbos's plan and check fold the errors differently; there the predicate
 * must never keep a resource the check denies.
 */
import { fileURLToPath } from 'node:url'
import { join } from 'node:path'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { EmbeddedEngine, planPredicate, type CheckResourcesRequest } from '@meshguard/core'
import { requestArbitrary } from './requests.js'
import { readVocabulary } from './vocabulary.js'

const CONFORMANCE = fileURLToPath(new URL('../../conformance/cerbos/', import.meta.url))
const SEED = Number(process.env['MESHGUARD_DIFF_SEED'] ?? 20_261_207)
const SCALE = Number(process.env['MESHGUARD_DIFF_SCALE'] ?? 1)
const NOW = new Date('2026-01-16T10:18:27.395Z')

const TARGETS = [
  { name: 'plan store', dir: join(CONFORMANCE, 'plan', 'policies'), runs: 1500 },
  { name: 'corpus store', dir: join(CONFORMANCE, 'store'), runs: 1500 },
  { name: 'seed policies', dir: fileURLToPath(new URL('../../examples/policies', import.meta.url)), runs: 500 },
]

describe.each(TARGETS)('plan predicate vs checkResources: $name', ({ dir, runs }) => {
  it('keeps exactly the resources the check allows', async () => {
    const engine = await EmbeddedEngine.fromDirectory(dir, { globals: { environment: 'test' }, now: () => NOW, rememberDecisions: false })
    const vocab = await readVocabulary(dir)
    const valid = requestArbitrary(vocab).filter((r) => r.principal.roles.length > 0 && r.principal.id !== '' && r.resources.length > 0 && r.resources.every((e) => e.actions.length > 0 && e.resource.kind !== ''))
    let compared = 0
    let allowed = 0
    let withErrors = 0
    fc.assert(
      fc.property(valid, (request: CheckResourcesRequest) => {
        const entry = request.resources[0]!
        const { kind, policyVersion, scope } = entry.resource
        const plan = engine.planResourcesSync({ principal: request.principal, resource: { kind, policyVersion, scope }, actions: entry.actions, auxData: request.auxData })
        const keep = planPredicate(plan, { now: () => NOW })(entry.resource)
        const [output] = engine.checkInputs([{ principal: request.principal, resource: entry.resource, actions: entry.actions, auxData: request.auxData }])
        const allowedByCheck = Object.values(output!.actions).every((a) => a.effect === 'EFFECT_ALLOW')
        compared++
        if (allowedByCheck) allowed++
        if (output!.evaluationErrors.length > 0) {
          withErrors++
          // Errors fold differently in plan and check: the predicate may only be narrower.
          return !keep || allowedByCheck
        }
        return keep === allowedByCheck
      }),
      { seed: SEED, numRuns: Math.max(1, Math.round(runs * SCALE)) },
    )
    console.log(`plan predicate [${dir}]: ${compared} resources compared, ${allowed} allowed by the check, ${withErrors} with CEL errors`)
    expect(compared).toBeGreaterThan(0)
  })
})
