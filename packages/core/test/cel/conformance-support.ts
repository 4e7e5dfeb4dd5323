/**
 * Shared helpers of the CEL conformance suites (test/conformance/cel-*.test.ts): reading the case
 * corpora and the list of known failures. Lives in the core package so `yaml` resolves.
 */
import { readFileSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parse } from 'yaml'

/** Root of the vendored conformance data (`conformance/` at the repository root; see its README). */
export const CONFORMANCE_ROOT = fileURLToPath(new URL('../../../../conformance/', import.meta.url))

/** A Cerbos `condition.match` block. */
export type MatchBlock =
  | { expr: string }
  | { all: { of: MatchBlock[] } }
  | { any: { of: MatchBlock[] } }
  | { none: { of: MatchBlock[] } }

/** One `cases/cel_eval/*.yaml` file. */
export interface CelEvalCase {
  file: string
  condition: MatchBlock
  request: {
    principal: { id: string; roles: string[]; attr?: Record<string, unknown>; policyVersion?: string; scope?: string }
    resource: { kind: string; id: string; attr?: Record<string, unknown>; policyVersion?: string; scope?: string }
    auxData?: { jwt?: Record<string, unknown> }
  }
  want: boolean
  wantError?: boolean
}

/** Reads every cel_eval case, sorted by file name. */
export function readCelEvalCases(): CelEvalCase[] {
  const dir = join(CONFORMANCE_ROOT, 'cerbos/cases/cel_eval')
  return readdirSync(dir)
    .filter((f) => f.endsWith('.yaml'))
    .sort()
    .map((file) => ({ file, ...(parse(readFileSync(join(dir, file), 'utf8')) as Omit<CelEvalCase, 'file'>) }))
}

/**
 * Reads the ids listed in a known-failures file: every line of the form
 * ``- `id` — reason``. A listed id must fail; every other case must pass.
 */
export function readKnownFailures(path: string, section: string): Map<string, string> {
  const known = new Map<string, string>()
  let inSection = false
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    if (line.startsWith('## ')) inSection = line.slice(3).trim() === section
    const entry = /^- `([^`]+)` — (.+)$/.exec(line)
    if (inSection && entry) known.set(entry[1]!, entry[2]!)
  }
  return known
}

/** Every CEL expression in a policy store: conditions, variables and outputs. */
export function readStoreExpressions(dir = join(CONFORMANCE_ROOT, 'cerbos/store')): Array<{ file: string; expr: string }> {
  const out: Array<{ file: string; expr: string }> = []
  const visit = (file: string, value: unknown, key: string | undefined): void => {
    if (typeof value === 'string') {
      if (key === 'expr' || key === 'ruleActivated' || key === 'conditionNotMet') out.push({ file, expr: value })
      return
    }
    if (Array.isArray(value)) {
      for (const item of value) visit(file, item, key)
      return
    }
    if (typeof value !== 'object' || value === null) return
    const entries: Array<[string, unknown]> = Object.entries(value)
    for (const [k, v] of entries) {
      // Constants are values, not expressions.
      if (k === 'constants' || k === 'exportConstants') continue
      if ((k === 'local' || k === 'definitions') && typeof v === 'object' && v !== null && !Array.isArray(v)) {
        for (const e of Object.values(v)) if (typeof e === 'string') out.push({ file, expr: e })
      } else {
        visit(file, v, k)
      }
    }
  }
  const walkDir = (d: string): void => {
    for (const entry of readdirSync(d, { withFileTypes: true })) {
      const path = join(d, entry.name)
      if (entry.isDirectory()) walkDir(path)
      else if (/\.ya?ml$/.test(entry.name) && !entry.name.endsWith('_test.yaml')) {
        for (const doc of readFileSync(path, 'utf8').split(/^---$/m)) {
          if (doc.trim() !== '') visit(path.slice(dir.length + 1), parse(doc), undefined)
        }
      }
    }
  }
  walkDir(dir)
  return out
}
