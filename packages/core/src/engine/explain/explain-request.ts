/**
 * Explains a whole CheckResources request: each input is decided by `checkInput` exactly as a
 * check decides it, then walked again by the explain pass with the same clock, so what the
 * explanation names as deciding is what the decision returned.
 */
import type { CompiledPolicySet } from '../../policy/compiled.js'
import type { DecisionExplanation, ExplainedResource } from '../../types.js'
import { checkInput, type CheckSettings } from '../check.js'
import type { RuleTable } from '../rule-table.js'
import type { CheckInput, CheckOutput } from '../types.js'
import { ExplainBudget, type ExplainLimits } from './budget.js'
import { explainInput } from './explain-input.js'

/** The decisions of a request and their explanation, from one evaluation. */
export interface ExplainedCheck {
  readonly outputs: readonly CheckOutput[]
  readonly explanation: DecisionExplanation
}

/**
 * Decides and explains `inputs` (at most `limits.resources` of them are explained; every one is decided).
 *
 * @param now - the clock of this call (one instant for every input)
 */
export function explainInputs(
  table: RuleTable,
  set: CompiledPolicySet,
  inputs: readonly CheckInput[],
  settings: CheckSettings,
  now: () => Date,
  limits: ExplainLimits,
): ExplainedCheck {
  const budget = new ExplainBudget(limits)
  const outputs: CheckOutput[] = []
  const resources: ExplainedResource[] = []
  for (const input of inputs) {
    const output = checkInput(table, set, input, settings, now)
    outputs.push(output)
    if (resources.length < limits.resources) resources.push(explainInput(table, input, output, settings, now, budget))
    else budget.cut()
  }
  const explanation: DecisionExplanation = budget.truncated
    ? { policyDigest: set.digest, resources, truncated: true }
    : { policyDigest: set.digest, resources }
  return { outputs, explanation }
}
