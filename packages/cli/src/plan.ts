/**
 * `meshguard plan`: PlanResources requests as JSON lines on stdin, one Cerbos HTTP API response per
 * line on stdout, planned by the embedded engine built once. A bad line gets an error line (as for
 * `meshguard check`) and the stream goes on.
 */
import { RequestError, type EmbeddedEngine } from '@meshguard/core'
import { answerLines, errorLine } from './check.js'
import { readPlanRequest, toHttpPlanResponse } from './cerbos-http-plan.js'
import type { CliIo } from './io.js'
import { MAX_LINE_BYTES, type InputLine } from './lines.js'

/** Plans one line; never throws. */
export function answerPlanLine(engine: EmbeddedEngine, line: InputLine, lineNumber: number): string {
  if (line.tooLong === true) {
    return errorLine(new RequestError(`line longer than ${MAX_LINE_BYTES} bytes`, { reason: 'line_too_long' }), lineNumber)
  }
  let body: unknown
  try {
    body = JSON.parse(line.text)
  } catch (err) {
    return errorLine(new RequestError(`invalid JSON: ${(err as Error).message}`, { reason: 'invalid_json' }), lineNumber)
  }
  const requestId = typeof (body as { requestId?: unknown } | null)?.requestId === 'string' ? (body as { requestId: string }).requestId : undefined
  try {
    return JSON.stringify(toHttpPlanResponse(engine.planResourcesSync(readPlanRequest(body))))
  } catch (err) {
    return errorLine(err, lineNumber, requestId)
  }
}

/** Runs `meshguard plan` (same options as `check`); resolves to the exit code. */
export function runPlan(args: readonly string[], io: CliIo): Promise<number> {
  return answerLines(args, io, 'plan', answerPlanLine)
}
