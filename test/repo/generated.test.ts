// Generated files match the script that generates them (a hand edit, or a new vendored schema
// without regenerating, fails here).
import { execFileSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'

const root = fileURLToPath(new URL('../..', import.meta.url))

describe('packages/core/src/generated', () => {
  it('policy-schema.ts is what scripts/generate-policy-schema.mjs writes', async () => {
    const { renderPolicySchemaModule } = (await import(`${root}scripts/generate-policy-schema.mjs`)) as {
      renderPolicySchemaModule: (schemaText: string) => string
    }
    const wanted = renderPolicySchemaModule(readFileSync(`${root}conformance/cerbos/jsonschema/Policy.schema.json`, 'utf8'))
    expect(readFileSync(`${root}packages/core/src/generated/policy-schema.ts`, 'utf8')).toBe(wanted)
    expect(execFileSync(process.execPath, ['scripts/generate-policy-schema.mjs', '--check'], { cwd: root, encoding: 'utf8' })).toMatch(/up to date/)
  })
})
