/**
 * `meshguard check`: CheckResources requests as JSON lines on stdin, one Cerbos HTTP API response per
 * line on stdout, decided by the embedded engine built once. A bad line gets an error line (Cerbos's
 * `{code, message}` plus meshguard's error code and reason) and the stream goes on.
 */
import { parseArgs } from 'node:util'
import { EmbeddedEngine, RequestError, toMeshguardError, type SchemaEnforcement } from '@meshguard/core'
import { readCheckRequest, toHttpResponse } from './cerbos-http.js'
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

/** Decides one line; never throws. */
export function answerLine(engine: EmbeddedEngine, line: InputLine, lineNumber: number): string {
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
    const request = readCheckRequest(body)
    return JSON.stringify(toHttpResponse(request, engine.checkInputs(request.inputs)))
  } catch (err) {
    return errorLine(err, lineNumber, requestId)
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
  answer: (engine: EmbeddedEngine, line: InputLine, lineNumber: number) => string,
): Promise<number> {
  const options = parseCheckArgs(args, command)
  const engine = await EmbeddedEngine.fromDirectory(options.policies, {
    globals: options.globals,
    lenientScopeSearch: options.lenientScopeSearch,
    schemaEnforcement: options.schemaEnforcement,
  })
  let lineNumber = 0
  for await (const batch of lineBatches(io.stdin)) {
    let out = ''
    for (const line of batch) {
      lineNumber++
      if (line.tooLong !== true && line.text.trim() === '') continue
      out += `${answer(engine, line, lineNumber)}\n`
    }
    if (out !== '') await write(io.stdout, out)
  }
  return 0
}

/** Runs `meshguard check`; resolves to the exit code. */
export function runCheck(args: readonly string[], io: CliIo): Promise<number> {
  return answerLines(args, io, 'check', answerLine)
}
