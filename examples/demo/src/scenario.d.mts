// Types of the scripted scenario (scenario.mjs) for the TypeScript tests that import it.
import type { HttpAnswer, Mode, System } from './system.mjs'

export type StepResponse = HttpAnswer

export interface Step {
  /** Who sends the request. */
  caller: string
  /** The user or agent it acts for. */
  onBehalfOf: string
  /** Short description: method, service, path. */
  request: string
  /** The HTTP status that proves the point. */
  expected: number
  /** What the step demonstrates. */
  point: string
  send: (system: System) => Promise<StepResponse>
  /** The profiles the step belongs to (default: all). */
  modes?: Mode[] | undefined
}

export declare function call(url: string, init?: { method?: string; headers?: Record<string, string>; body?: unknown }): Promise<StepResponse>
export declare const SCENARIO: Step[]
/** The steps of one profile: every step without `modes`, and those naming it. */
export declare function scenarioFor(mode: Mode): Step[]
