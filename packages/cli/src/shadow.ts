/**
 * `meshguard shadow`: replays a recorded audit log (JSON lines, from a file or stdin) against a
 * candidate policy directory and prints every decision the candidate would have made otherwise.
 * Only decision records with `checkResources` inputs and outputs can be replayed; the rest are
 * counted as skipped. Records whose attributes the audit log filtered are replayed as recorded.
 */
import { createReadStream } from 'node:fs'
import type { EmbeddedEngine} from '@meshguard/core';
import { type AuditRecord, type CheckResourcesResponse } from '@meshguard/core'
import { shadowDifferences } from '@meshguard/core/testing'
import { engineFor, parseCheckArgs } from './check.js'
import { write, UsageError, type CliIo } from './io.js'
import { lineBatches } from './lines.js'

/** The outcome of one replay. */
export interface ShadowReplay {
  replayed: number
  differing: number
  skipped: number
  /** One line per difference. */
  lines: string[]
}

const effectWord = (effect: string): string => effect.replace('EFFECT_', '')

/** Replays one audit line against the candidate; `undefined` when the line cannot be replayed. */
export function replayRecord(engine: EmbeddedEngine, line: string): string[] | undefined {
  let record: AuditRecord | null // a log line: JSON may be anything
  try {
    record = JSON.parse(line) as AuditRecord | null
  } catch {
    return undefined
  }
  const inputs = record?.checkResources?.inputs
  const outputs = record?.checkResources?.outputs
  if (record?.kind !== 'decision' || inputs === undefined || outputs === undefined || !Array.isArray(outputs.results)) return undefined
  let candidate: CheckResourcesResponse
  try {
    candidate = engine.checkResourcesSync({ ...inputs, includeMeta: true })
  } catch {
    return undefined
  }
  return shadowDifferences(inputs, outputs, candidate).map(
    (d) =>
      `${record.callId} ${record.timestamp} ${d.resource.kind}:${d.resource.id} ${d.action}: live ${effectWord(d.live)} -> candidate ${effectWord(d.candidate)}` +
      ` (${d.candidateRule ?? d.candidatePolicy ?? 'no policy'})`,
  )
}

function ownOptions(args: readonly string[]): { log: string | undefined; rest: string[] } {
  let log: string | undefined
  const rest: string[] = []
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] as string
    if (arg === '--log') {
      log = args[++i]
      if (log === undefined) throw new UsageError('shadow: --log needs a file (or - for stdin)')
    } else if (arg.startsWith('--log=')) log = arg.slice('--log='.length)
    else rest.push(arg)
  }
  return { log, rest }
}

/** Runs `meshguard shadow`; exit code 0 whether or not decisions differ (the summary says). */
export async function runShadow(args: readonly string[], io: CliIo): Promise<number> {
  const own = ownOptions(args)
  const options = parseCheckArgs(own.rest, 'shadow')
  const engine = await engineFor(options)
  const input = own.log === undefined || own.log === '-' ? io.stdin : createReadStream(own.log)
  const replay: ShadowReplay = { replayed: 0, differing: 0, skipped: 0, lines: [] }
  for await (const batch of lineBatches(input)) {
    let out = ''
    for (const line of batch) {
      if (line.tooLong !== true && line.text.trim() === '') continue
      const differences = line.tooLong === true ? undefined : replayRecord(engine, line.text)
      if (differences === undefined) {
        replay.skipped++
        continue
      }
      replay.replayed++
      if (differences.length > 0) replay.differing++
      for (const difference of differences) out += `${difference}\n`
    }
    if (out !== '') await write(io.stdout, out)
  }
  await write(
    io.stdout,
    `${replay.replayed} decisions replayed against ${options.policies} (policy set ${engine.policyDigest.slice(0, 12)}): ` +
      `${replay.differing} would differ; ${replay.skipped} records skipped (not decisions with checkResources)\n`,
  )
  return 0
}
