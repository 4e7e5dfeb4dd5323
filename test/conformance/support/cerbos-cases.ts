/**
 * Loaders for the Cerbos conformance data (conformance/cerbos at the repository root, Apache-2.0,
 * see its README and LICENSE): engine cases, compile cases and txtar archives. Shared by the engine,
 * compile and CLI conformance tests.
 */
import { readdir, readFile } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
// Core's own yaml (the root has no yaml dependency), loaded through core's package below.
import type * as YamlModule from '../../../packages/core/node_modules/yaml/dist/index.js'

// yaml is a dependency of core, not of the workspace root.
const { parse } = createRequire(new URL('../../../packages/core/package.json', import.meta.url))('yaml') as typeof YamlModule

/** The conformance data root. */
export const CERBOS_CONFORMANCE_DIR = fileURLToPath(new URL('../../../conformance/cerbos/', import.meta.url))
/** The policy store every engine case runs against. */
export const CERBOS_STORE_DIR = join(CERBOS_CONFORMANCE_DIR, 'store')
/** The case directories. */
export const CERBOS_CASES_DIR = join(CERBOS_CONFORMANCE_DIR, 'cases')
/** Globals the Cerbos engine test harness configures. */
export const CERBOS_TEST_GLOBALS: Readonly<Record<string, unknown>> = Object.freeze({ environment: 'test' })

/** An expected action decision. */
export interface WantActionEffect {
  effect: string
  policy: string
  scope?: string
}

/** One expected CheckOutput. */
export interface WantOutput {
  requestId?: string
  resourceId?: string
  actions: Record<string, WantActionEffect>
  effectiveDerivedRoles?: string[]
  outputs?: Array<{ src: string; action?: string; val?: unknown; error?: string }>
  validationErrors?: Array<{ path: string; message: string; source: string }>
  evaluationErrors?: Array<{ celError: { expression: string; message: string } }>
}

/** One engine case file. */
export interface EngineCase {
  /** e.g. `engine/case_00.yaml` */
  name: string
  description: string
  inputs: Array<Record<string, unknown>>
  wantOutputs: WantOutput[]
  /** The expected decision-log entries (only the audit trail is compared). */
  wantDecisionLogs?: Array<{ auditTrail?: { effectivePolicies?: Record<string, { attributes?: { source?: string } }> } }> | undefined
}

const camel = (key: string): string => key.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase())

/** Renames snake_case keys to lowerCamel (cases mix both spellings); attribute maps are left alone. */
export function camelizeKeys(value: unknown, keep: ReadonlySet<string> = new Set(['attr', 'val', 'jwt', 'effectivePolicies', 'actions'])): unknown {
  if (Array.isArray(value)) return value.map((v) => camelizeKeys(v, keep))
  if (typeof value !== 'object' || value === null) return value
  const out: Record<string, unknown> = {}
  for (const [k, v] of Object.entries(value)) {
    const key = camel(k)
    out[key] = keep.has(key) && key !== 'actions' ? v : key === 'actions' && !Array.isArray(v) ? camelizeActionMap(v, keep) : camelizeKeys(v, keep)
  }
  return out
}

function camelizeActionMap(v: unknown, keep: ReadonlySet<string>): unknown {
  if (typeof v !== 'object' || v === null) return v
  const out: Record<string, unknown> = {}
  for (const [action, effect] of Object.entries(v)) out[action] = camelizeKeys(effect, keep)
  return out
}

/** Reads every engine case file of `cases/<dir>` (recursively, sorted). */
export async function loadEngineCases(dir: string): Promise<EngineCase[]> {
  const root = join(CERBOS_CASES_DIR, dir)
  const entries = (await readdir(root, { recursive: true })).map(String).filter((f) => f.endsWith('.yaml')).sort()
  return await Promise.all(
    entries.map(async (file) => {
      const raw = camelizeKeys(parse(await readFile(join(root, file), 'utf8'))) as Partial<EngineCase>
      return { name: `${dir}/${file}`, description: raw.description ?? '', inputs: raw.inputs ?? [], wantOutputs: raw.wantOutputs ?? [], wantDecisionLogs: raw.wantDecisionLogs }
    }),
  )
}

/** Splits a txtar archive (`-- name --` separator lines) into files. */
export function parseTxtar(text: string): Map<string, string> {
  const files = new Map<string, string>()
  let current: string | undefined
  let lines: string[] = []
  const flush = (): void => {
    if (current !== undefined) files.set(current, lines.join('\n'))
  }
  for (const line of text.split('\n')) {
    const header = /^-- (.+) --$/.exec(line)
    if (header?.[1] !== undefined) {
      flush()
      current = header[1].trim()
      lines = []
    } else if (current !== undefined) {
      lines.push(line)
    }
  }
  flush()
  return files
}

/** One expected compile error. */
export interface WantCompileError {
  file: string
  error: string
  description: string
  position?: { line: number; column: number; path: string }
}

/** One compile case. */
export interface CompileCase {
  name: string
  mainDef: string
  wantErrors: WantCompileError[]
  /** Policy files from the txtar archive. */
  files: Map<string, string>
}

/** Reads every compile case (`cases/compile/*.yaml` + `.yaml.input`). */
export async function loadCompileCases(): Promise<CompileCase[]> {
  const root = join(CERBOS_CASES_DIR, 'compile')
  const names = (await readdir(root)).filter((f) => f.endsWith('.yaml')).sort()
  return await Promise.all(
    names.map(async (file) => {
      const spec = parse(await readFile(join(root, file), 'utf8')) as { mainDef: string; wantErrors?: WantCompileError[] }
      const files = parseTxtar(await readFile(join(root, `${file}.input`), 'utf8'))
      return { name: file.replace(/\.yaml$/, ''), mainDef: spec.mainDef, wantErrors: spec.wantErrors ?? [], files }
    }),
  )
}

/** Reads the schema files the `invalid_schemas`/`missing_schemas` compile cases resolve against. */
export async function loadCaseSchemas(): Promise<Array<{ path: string; text: string }>> {
  const root = join(CERBOS_CASES_DIR, 'schema', 'fs', '_schemas')
  const entries = (await readdir(root, { recursive: true })).map(String).filter((f) => f.endsWith('.json')).sort()
  return await Promise.all(entries.map(async (path) => ({ path, text: await readFile(join(root, path), 'utf8') })))
}

/**
 * Reads a known-failures markdown list: lines `- \`case id\`: reason`.
 *
 * @returns case id → reason
 */
export async function loadKnownFailures(file: string): Promise<Map<string, string>> {
  const text = await readFile(file, 'utf8')
  const out = new Map<string, string>()
  for (const line of text.split('\n')) {
    const m = /^- `([^`]+)`:?\s*(.*)$/.exec(line.trim())
    if (m?.[1] !== undefined) out.set(m[1], m[2] ?? '')
  }
  return out
}

/** The PlanResources (query planner) data: `policies/` and `suite/{common,strict_scope_search,lenient_scope_search}`. */
export const CERBOS_PLAN_DIR = join(CERBOS_CONFORMANCE_DIR, 'plan')

/** One PlanResources test of a planner suite. */
export interface PlanTest {
  action?: string
  actions?: string[]
  resource: { kind: string; policyVersion?: string; scope?: string; attr?: Record<string, unknown> }
  want?: { kind: string; condition?: unknown }
  wantErr?: boolean
}

/** One planner suite file. */
export interface PlanSuite {
  /** e.g. `common/maggie.yaml` */
  name: string
  description: string
  principal: { id: string; roles: string[]; attr?: Record<string, unknown>; policyVersion?: string; scope?: string }
  tests: PlanTest[]
}

/** Reads every planner suite of `plan/suite/<dir>` (sorted; YAML merge keys resolved). */
export async function loadPlanSuites(dir: string): Promise<PlanSuite[]> {
  const root = join(CERBOS_PLAN_DIR, 'suite', dir)
  const files = (await readdir(root)).filter((f) => f.endsWith('.yaml')).sort()
  return await Promise.all(
    files.map(async (file) => {
      const raw = parse(await readFile(join(root, file), 'utf8'), { merge: true }) as Omit<PlanSuite, 'name' | 'description' | 'tests'> & Partial<Pick<PlanSuite, 'description' | 'tests'>>
      return { ...raw, name: `${dir}/${file}`, description: raw.description ?? '', tests: raw.tests ?? [] }
    }),
  )
}
