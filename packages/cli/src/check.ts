/**
 * `meshguard check`: CheckResources requests as JSON lines on stdin, one Cerbos HTTP API response per
 * line on stdout, decided by the embedded engine built once. A bad line gets an error line (Cerbos's
 * `{code, message}` plus meshguard's error code and reason) and the stream goes on.
 */
import { parseArgs } from 'node:util'
import { EmbeddedEngine, type CheckOutput, RequestError, toMeshguardError, type SchemaEnforcement } from '@meshguard/core'
import { readCheckRequest, toHttpResponse, type HttpCheckRequest } from './cerbos-http.js'
import { write, UsageError, type CliIo } from './io.js'
import { lineBatches, MAX_LINE_BYTES, type InputLine } from './lines.js'

/** gRPC status codes, as the PDP's HTTP gateway reports them. */
const INVALID_ARGUMENT = 3
const INTERNAL = 13

/** Options of `meshguard check`. */
export interface CheckCommandOptions {
  policies: string
  globals: Record<string, unknown>
  lenientScopeSearch: boolean
  schemaEnforcement: SchemaEnforcement
}

const ENFORCEMENTS: readonly string[] = ['none', 'warn', 'reject']

/** Parses `check` (or `plan`, which takes the same options) arguments. @throws UsageError */
export function parseCheckArgs(args: readonly string[], command = 'check'): CheckCommandOptions {
  const { values } = parseArgs({
    args: [...args],
    options: {
      policies: { type: 'string' },
      globals: { type: 'string' },
      'lenient-scope-search': { type: 'boolean', default: false },
      'schema-enforcement': { type: 'string', default: 'none' },
    },
    strict: true,
    allowPositionals: false,
  })
  if (values.policies === undefined) throw new UsageError(`${command}: --policies DIR is required`)
  const enforcement = values['schema-enforcement']
  if (!ENFORCEMENTS.includes(enforcement)) throw new UsageError(`${command}: --schema-enforcement must be one of ${ENFORCEMENTS.join(', ')}`)
  let globals: unknown = {}
  if (values.globals !== undefined) {
    try {
      globals = JSON.parse(values.globals)
    } catch {
      throw new UsageError(`${command}: --globals must be a JSON object`)
    }
    if (typeof globals !== 'object' || globals === null || Array.isArray(globals)) throw new UsageError(`${command}: --globals must be a JSON object`)
  }
  return {
    policies: values.policies,
    globals: globals as Record<string, unknown>,
    lenientScopeSearch: values['lenient-scope-search'],
    schemaEnforcement: enforcement as SchemaEnforcement,
  }
}

/** The embedded engine over the command's policy directory, with its engine options. */
export function engineFor(options: CheckCommandOptions): Promise<EmbeddedEngine> {
  return EmbeddedEngine.fromDirectory(options.policies, {
    globals: options.globals,
    lenientScopeSearch: options.lenientScopeSearch,
    schemaEnforcement: options.schemaEnforcement,
  })
}

export function errorLine(err: unknown, lineNumber: number, requestId?: string): string {
  const error = toMeshguardError(err)
  const code = error.code === 'ERR_AUTHZ_REQUEST_INVALID' ? INVALID_ARGUMENT : INTERNAL
  // An unexpected failure keeps its cause out of the output, like every other meshguard error.
  return JSON.stringify({
    ...(requestId ? { requestId } : {}),
    code,
    message: error.message,
    meshguardCode: error.code,
    reason: error.reason,
    line: lineNumber,
  })
}

/** One line's answer: the stdout line, and the stderr lines about conditions that failed to evaluate. */
export interface LineAnswer {
  out: string
  evaluationErrors: string[]
}

/**
 * `line 3: leave_request XX125: evaluation error in `R.attr.ownr == P.id`: no such key: ownr`, one per
 * failed expression of each resource. Such a condition counts as false, so its rule did not apply.
 */
export function evaluationErrorLines(request: HttpCheckRequest, outputs: readonly CheckOutput[], lineNumber: number): string[] {
  const lines: string[] = []
  for (const [i, output] of outputs.entries()) {
    const resource = request.inputs[i]?.resource
    for (const { expression, message } of output.evaluationErrors) {
      lines.push(`line ${lineNumber}: ${resource?.kind ?? '?'} ${resource?.id ?? '?'}: evaluation error in \`${expression}\`: ${message}`)
    }
  }
  return lines
}

/** Decides one line; never throws. */
export function answerLine(engine: EmbeddedEngine, line: InputLine, lineNumber: number): LineAnswer {
  const failed = (err: unknown, requestId?: string): LineAnswer => ({ out: errorLine(err, lineNumber, requestId), evaluationErrors: [] })
  if (line.tooLong === true) return failed(new RequestError(`line longer than ${MAX_LINE_BYTES} bytes`, { reason: 'line_too_long' }))
  let body: unknown
  try {
    body = JSON.parse(line.text)
  } catch (err) {
    return failed(new RequestError(`invalid JSON: ${(err as Error).message}`, { reason: 'invalid_json' }))
  }
  const requestId = typeof (body as { requestId?: unknown } | null)?.requestId === 'string' ? (body as { requestId: string }).requestId : undefined
  try {
    const request = readCheckRequest(body)
    const outputs = engine.checkInputs(request.inputs)
    return { out: JSON.stringify(toHttpResponse(request, outputs)), evaluationErrors: evaluationErrorLines(request, outputs, lineNumber) }
  } catch (err) {
    return failed(err, requestId)
  }
}

/**
 * Answers JSON lines from stdin with one engine built from the command's options: one answer line
 * per non-blank input line, in order, written a batch at a time. `check` and `plan` share it.
 */
export async function answerLines(
  args: readonly string[],
  io: CliIo,
  command: string,
  // `check` also returns the conditions that failed to evaluate, which go to stderr.
  answer: (engine: EmbeddedEngine, line: InputLine, lineNumber: number) => string | LineAnswer,
): Promise<number> {
  const options = parseCheckArgs(args, command)
  const engine = await engineFor(options)
  let lineNumber = 0
  for await (const batch of lineBatches(io.stdin)) {
    let out = ''
    let diagnostics = ''
    for (const line of batch) {
      lineNumber++
      if (line.tooLong !== true && line.text.trim() === '') continue
      const answered = answer(engine, line, lineNumber)
      if (typeof answered === 'string') out += `${answered}\n`
      else {
        out += `${answered.out}\n`
        for (const error of answered.evaluationErrors) diagnostics += `${error}\n`
      }
    }
    if (diagnostics !== '') await write(io.stderr, diagnostics)
    if (out !== '') await write(io.stdout, out)
  }
  return 0
}

/** Runs `meshguard check`; resolves to the exit code. */
export function runCheck(args: readonly string[], io: CliIo): Promise<number> {
  return answerLines(args, io, 'check', answerLine)
}
