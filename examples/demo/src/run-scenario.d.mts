// Types of the scenario runner (run-scenario.mjs) for the TypeScript tests that import it.
import type { AuditRecord } from '@meshguard/core'
import type { Step } from './scenario.mjs'
import type { ReceivedRequest, System } from './system.mjs'

export interface StepOutcome {
  step: Step
  status: number
  body: unknown
  /** Audit records this step produced, in order. */
  records: AuditRecord[]
  /** The requests inner services received during this step (headers only). */
  received: ReceivedRequest[]
  passed: boolean
  /** The deciding policy, or the reason of the refusal. */
  decidedBy: string
}

/** Runs the steps (by default the scenario of the system's mode) against a running system, one at a time. */
export declare function runScenario(system: System, steps?: Step[]): Promise<StepOutcome[]>
/** The hop that refused decides; when every hop allowed, the innermost policy is named. */
export declare function decidedBy(records: AuditRecord[], body: unknown): string
