// Types of the demo's policy operations (operations.mjs) for the TypeScript tests that import it.
import type { AuditRecord, EmbeddedEngine } from '@meshguard/core'
import type { System } from './system.mjs'

/** One decision the candidate would answer otherwise. */
export interface ShadowRunDifference {
  callId: string
  service: string
  line: string
}

/** The candidate: today's policies, except that HR no longer reads every review. */
export declare function candidateEngine(): Promise<EmbeddedEngine>
/** Replays every decision record against the candidate. */
export declare function shadowRun(records: readonly AuditRecord[], candidate: EmbeddedEngine): { replayed: number; differences: ShadowRunDifference[] }
/** The section's lines. */
export declare function policyOperations(system: System, colors: { bold: (s: string) => string; dim: (s: string) => string }): Promise<string[]>
