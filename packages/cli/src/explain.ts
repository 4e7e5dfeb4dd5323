/**
 * `meshguard explain`: one CheckResources request (Cerbos HTTP API JSON, from a file or stdin),
 * decided by the embedded engine and explained as a tree: per resource and action, the rules
 * considered, whether each held and the values its conditions saw, and the rule that decided.
 */
import { readFile } from 'node:fs/promises'
import { RequestError, type CheckResourcesRequest } from '@meshguard/core'
import { formatExplanation } from '@meshguard/core/testing'
import { readCheckRequest } from './cerbos-http.js'
import { engineFor, parseCheckArgs } from './check.js'
import { write, UsageError, type CliIo } from './io.js'

/** The largest request read (the same bound as a `check` line). */
const MAX_REQUEST_BYTES = 1024 * 1024

async function readAll(stdin: AsyncIterable<Buffer | string>): Promise<string> {
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of stdin) {
    const buffer = typeof chunk === 'string' ? Buffer.from(chunk) : chunk
    size += buffer.length
    if (size > MAX_REQUEST_BYTES) throw new RequestError(`request larger than ${MAX_REQUEST_BYTES} bytes`, { reason: 'request_too_large' })
    chunks.push(buffer)
  }
  return Buffer.concat(chunks).toString('utf8')
}

/** The engine's request for a Cerbos HTTP API CheckResources body. @throws RequestError */
export function engineRequestOf(body: unknown): CheckResourcesRequest {
  const request = readCheckRequest(body)
  const [first] = request.inputs
  if (first === undefined) throw new RequestError('resources: value is required', { reason: 'resources_missing' })
  return {
    requestId: request.requestId,
    principal: first.principal,
    resources: request.inputs.map((input) => ({ resource: input.resource, actions: input.actions })),
    auxData: first.auxData?.jwt === undefined ? undefined : { jwt: first.auxData.jwt },
    includeMeta: true,
  }
}

/** Splits explain's own options (`--request FILE`, `--json`) from the engine options it shares with `check`. */
function ownOptions(args: readonly string[]): { request: string | undefined; json: boolean; rest: string[] } {
  let request: string | undefined
  let json = false
  const rest: string[] = []
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] as string
    if (arg === '--json') json = true
    else if (arg === '--request') {
      request = args[++i]
      if (request === undefined) throw new UsageError('explain: --request needs a file (or - for stdin)')
    } else if (arg.startsWith('--request=')) request = arg.slice('--request='.length)
    else rest.push(arg)
  }
  return { request, json, rest }
}

/** Runs `meshguard explain`; resolves to the exit code (0 also when the request is denied). */
export async function runExplain(args: readonly string[], io: CliIo): Promise<number> {
  const own = ownOptions(args)
  const options = parseCheckArgs(own.rest, 'explain')
  const engine = await engineFor(options)
  const text = own.request !== undefined && own.request !== '-' ? await readFile(own.request, 'utf8') : await readAll(io.stdin)
  let body: unknown
  try {
    body = JSON.parse(text)
  } catch (err) {
    throw new RequestError(`invalid JSON: ${(err as Error).message}`, { reason: 'invalid_json' })
  }
  const { explanation } = engine.explainSync(engineRequestOf(body))
  await write(io.stdout, own.json ? `${JSON.stringify(explanation, null, 2)}\n` : formatExplanation(explanation))
  return 0
}
