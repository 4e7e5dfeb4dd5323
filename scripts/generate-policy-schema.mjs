// Regenerates packages/core/src/generated/policy-schema.ts from the vendored Cerbos JSON Schema
// (conformance/cerbos/jsonschema/Policy.schema.json). Run: node scripts/generate-policy-schema.mjs
// With --check it writes nothing and exits 1 when the committed file is out of date.
import { readFileSync, writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

const root = fileURLToPath(new URL('..', import.meta.url))
const sourcePath = `${root}conformance/cerbos/jsonschema/Policy.schema.json`
const targetPath = `${root}packages/core/src/generated/policy-schema.ts`

/** The TypeScript module text for the schema document. */
export function renderPolicySchemaModule(schemaText) {
  const schema = JSON.parse(schemaText)
  return [
    '// Generated from the Cerbos published JSON Schema `cerbos/policy/v1/Policy.schema.json`',
    '// (github.com/cerbos/cerbos @ 69bed7f7, schema/jsonschema), Apache License 2.0, copyright Zenauth Ltd.',
    '// Data only: it describes the policy document shape so our loader rejects exactly what Cerbos rejects.',
    '// Regenerate with `node scripts/generate-policy-schema.mjs`; do not edit by hand.',
    '',
    '/** The Cerbos policy document JSON Schema (draft-07). */',
    `export const POLICY_DOCUMENT_SCHEMA: Record<string, unknown> = ${JSON.stringify(schema, null, 1)}`,
    '',
  ].join('\n')
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const wanted = renderPolicySchemaModule(readFileSync(sourcePath, 'utf8'))
  if (process.argv.includes('--check')) {
    const current = readFileSync(targetPath, 'utf8')
    if (current !== wanted) {
      console.error(`${targetPath} is out of date: run node scripts/generate-policy-schema.mjs`)
      process.exit(1)
    }
    console.log('policy schema module is up to date')
  } else {
    writeFileSync(targetPath, wanted)
    console.log(`wrote ${targetPath}`)
  }
}
