/**
 * The demo's policy-operations part, from what the scenario left behind: a shadow run of a candidate
 * policy change over the audit log (reported, never enforced), the explanation of one denial (from
 * its audit record), and review-service's route table.
 */
import { readdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { EmbeddedEngine } from '@meshguard/core'
import { formatRouteTable } from '@meshguard/core/adapter'
import { formatExplanation, shadowDifferences } from '@meshguard/core/testing'

/** The sample policies every demo service runs. */
const DEFAULT_POLICY_DIR = fileURLToPath(new URL('../../policies/', import.meta.url))

/** The rule of the seed review policy that lets HR read every review. */
const HR_RULE = /\n {4}- actions: \["read"\]\n {6}effect: EFFECT_ALLOW\n {6}derivedRoles: \[hr_user\]\n/

/**
 * The candidate: today's policies, except that HR no longer reads every review (only a manager of
 * the review's department does). Built in memory from the sample policy directory.
 * @returns {Promise<EmbeddedEngine>}
 */
export async function candidateEngine() {
  /** @type {{ file: string, text: string }[]} */
  const sources = []
  for (const folder of ['resources', 'derived_roles']) {
    for (const name of await readdir(join(DEFAULT_POLICY_DIR, folder))) {
      if (!name.endsWith('.yaml')) continue
      const file = `${folder}/${name}`
      let text = await readFile(join(DEFAULT_POLICY_DIR, file), 'utf8')
      if (file === 'resources/review.yaml') {
        if (!HR_RULE.test(text)) throw new Error('the sample review policy no longer has the HR rule the candidate removes')
        text = text.replace(HR_RULE, '\n')
      }
      sources.push({ file, text })
    }
  }
  return EmbeddedEngine.fromSources(sources)
}

/**
 * Replays every decision record against the candidate.
 * @param {any[]} records
 * @param {EmbeddedEngine} candidate
 * @returns {{ replayed: number, differences: { callId: string, service: string, line: string }[] }}
 */
export function shadowRun(records, candidate) {
  const differences = []
  let replayed = 0
  for (const record of records) {
    const inputs = record?.checkResources?.inputs
    const outputs = record?.checkResources?.outputs
    if (record?.kind !== 'decision' || !inputs || !outputs) continue
    replayed++
    const answer = candidate.checkResourcesSync({ ...inputs, includeMeta: true })
    for (const d of shadowDifferences(inputs, outputs, answer)) {
      const word = (/** @type {string} */ e) => e.replace('EFFECT_', '')
      differences.push({ callId: record.callId, service: record.service, line: `${d.resource.kind}:${d.resource.id} ${d.action} for ${record.actorId ?? record.workloadId}: live ${word(d.live)}, candidate ${word(d.candidate)}` })
    }
  }
  return { replayed, differences }
}

/**
 * The section's lines.
 * @param {import('./system.mjs').System} system
 * @param {{ bold: (s: string) => string, dim: (s: string) => string }} colors
 * @returns {Promise<string[]>}
 */
export async function policyOperations(system, colors) {
  const lines = []
  const { replayed, differences } = shadowRun(system.audit, await candidateEngine())
  lines.push(`${colors.bold('Shadow run')} ${colors.dim('(a candidate policy that drops "HR reads every review", replayed over this audit log; reported, not enforced)')}`)
  lines.push(`  ${replayed} decisions replayed; ${differences.length} would change:`)
  for (const d of differences) lines.push(`  ${d.line} ${colors.dim(`(${system.nameOf(d.service)}, decision ${d.callId})`)}`)

  const denial = system.audit.find((r) => r.outcome === 'denied' && r.explanation)
  lines.push('', `${colors.bold('Why one request was denied')} ${colors.dim(`(the explanation in its audit record, decision ${denial?.callId ?? 'none'})`)}`)
  if (denial?.explanation) for (const line of formatExplanation(denial.explanation).trimEnd().split('\n')) lines.push(`  ${line}`)

  lines.push('', `${colors.bold('review-service routes')} ${colors.dim('(@meshguard/fastify/testing listRoutes)')}`)
  for (const line of formatRouteTable(system.reviewRoutes()).trimEnd().split('\n')) lines.push(`  ${line}`)
  return lines
}
