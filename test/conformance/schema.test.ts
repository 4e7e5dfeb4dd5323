/**
 * Cerbos schema-validation conformance: the `check_input_*` cases of cases/schema validate principal
 * and resource attributes against `cases/schema/fs/_schemas` (under both `warn` and `reject`, which
 * report the same errors), and the `plan_resources_input_*` cases do the same for PlanResources inputs
 * (missing required resource properties are not errors there). Failing cases must be listed in
 * known-failures-engine.md as `schema:<file>`.
 */
import { readdir, readFile } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
// Core's own yaml (the root has no yaml dependency), loaded through core's package below.
import type * as YamlModule from '../../packages/core/node_modules/yaml/dist/index.js'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { validateAttributes, validatePlanAttributes } from '../../packages/core/src/engine/schema-validation.js'
import type { CompiledResourcePolicy } from '../../packages/core/src/policy/compiled.js'
import { createSchemaRegistry } from '../../packages/core/src/policy/schemas.js'
import { CERBOS_CASES_DIR, loadKnownFailures } from './support/cerbos-cases.js'

const { parse } = createRequire(new URL('../../packages/core/package.json', import.meta.url))('yaml') as typeof YamlModule
const KNOWN_FAILURES_FILE = fileURLToPath(new URL('./known-failures-engine.md', import.meta.url))
const CASES = join(CERBOS_CASES_DIR, 'schema', 'test_cases')
const SCHEMAS = join(CERBOS_CASES_DIR, 'schema', 'fs', '_schemas')

interface SchemaCase {
  schemaRefs: CompiledResourcePolicy['schemas']
  checkInput?: { actions: string[]; principal: { attr?: Record<string, unknown> }; resource: { attr?: Record<string, unknown> } }
  planResourcesInput?: { action?: string; actions?: string[]; principal: { attr?: Record<string, unknown> }; resource: { attr?: Record<string, unknown> } }
  wantValidationErrors?: Array<{ path?: string; message: string; source: string }>
}

const key = (e: { path?: string; message: string; source: string }): string => `${e.source}|${e.path ?? ''}|${e.message.trim()}`

describe('Cerbos schema conformance (check and plan inputs)', () => {
  const outcomes: Array<{ id: string; problem?: string }> = []
  let known: Map<string, string>

  beforeAll(async () => {
    known = await loadKnownFailures(KNOWN_FAILURES_FILE)
    const schemaFiles = (await readdir(SCHEMAS, { recursive: true })).map(String).filter((f) => f.endsWith('.json'))
    const docs = new Map<string, unknown>()
    const broken = new Map<string, string>()
    for (const f of schemaFiles) {
      const text = await readFile(join(SCHEMAS, f), 'utf8')
      try {
        docs.set(f, JSON.parse(text))
      } catch (err) {
        broken.set(f, String(err))
      }
    }
    const registry = createSchemaRegistry(docs, broken)
    const files = (await readdir(CASES)).filter((f) => f.startsWith('check_input_') || f.startsWith('plan_resources_input_')).sort()
    for (const file of files) {
      const c = parse(await readFile(join(CASES, file), 'utf8'), { merge: true }) as SchemaCase
      const policy = { schemas: c.schemaRefs } as CompiledResourcePolicy
      const plan = c.planResourcesInput
      const got = plan
        ? validatePlanAttributes(registry, policy, plan.principal.attr ?? {}, plan.resource.attr ?? {}, plan.actions ?? [plan.action ?? ''])
        : validateAttributes(registry, policy, c.checkInput?.principal.attr ?? {}, c.checkInput?.resource.attr ?? {}, c.checkInput?.actions ?? [])
      const want = (c.wantValidationErrors ?? []).map(key).sort()
      const have = got.map(key).sort()
      const same = JSON.stringify(want) === JSON.stringify(have)
      outcomes.push({ id: `schema:${file}`, problem: same ? undefined : `want ${JSON.stringify(want)} got ${JSON.stringify(have)}` })
    }
  })

  afterAll(() => {
    console.log(`Cerbos schema conformance: ${outcomes.filter((o) => !o.problem).length}/${outcomes.length} check-input and plan-input cases pass`)
  })

  it('runs the 15 check-input and 3 plan-input cases', () => {
    expect(outcomes).toHaveLength(18)
  })

  it('fails exactly the schema cases listed in known-failures-engine.md', () => {
    const failing = outcomes.filter((o) => o.problem !== undefined)
    expect(failing.filter((o) => !known.has(o.id)).map((o) => `${o.id}: ${o.problem}`)).toEqual([])
    expect([...known.keys()].filter((id) => id.startsWith('schema:') && !failing.some((o) => o.id === id))).toEqual([])
  })
})
