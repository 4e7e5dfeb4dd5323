/**
 * Checks a parsed document against the Cerbos policy schema and identifies its kind. Every problem
 * becomes a located issue; a document with issues is not compiled further.
 */
import type { PolicyIssue } from '../errors.js'
import { Ajv7, type ErrorObject, type ValidateFunction } from './ajv.js'
import { POLICY_KIND_KEYS, type PolicyDocumentDef, type PolicyKindKey } from './model.js'
import { POLICY_DOCUMENT_SCHEMA } from '../generated/policy-schema.js'
import { issueAt, type DocPath, type ParsedDocument } from './yaml-source.js'

let validator: ValidateFunction | undefined

function documentValidator(): ValidateFunction {
  if (validator === undefined) {
    const ajv = new Ajv7({ allErrors: true, strict: false, validateFormats: false })
    validator = ajv.compile(POLICY_DOCUMENT_SCHEMA)
  }
  return validator
}

function pathOf(instancePath: string): DocPath {
  if (instancePath === '') return []
  return instancePath
    .slice(1)
    .split('/')
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'))
    .map((s) => (/^\d+$/.test(s) ? Number(s) : s))
}

function describe(err: ErrorObject): { path: DocPath; message: string; key: boolean } {
  const path = pathOf(err.instancePath)
  const params = err.params as Record<string, unknown>
  switch (err.keyword) {
    case 'additionalProperties':
      return { path: [...path, String(params.additionalProperty)], message: `unknown field "${String(params.additionalProperty)}"`, key: true }
    case 'required':
      return { path, message: `missing required field "${String(params.missingProperty)}"`, key: false }
    case 'pattern':
      return { path, message: `invalid value: does not match pattern ${String(params.pattern)}`, key: false }
    case 'enum':
      return { path, message: `invalid value: must be one of ${(params.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(', ')}`, key: false }
    case 'const':
      return { path, message: `invalid value: must be ${JSON.stringify(params.allowedValue)}`, key: false }
    case 'oneOf':
      return { path, message: 'must set exactly one of the alternatives', key: false }
    default:
      return { path, message: err.message ?? 'invalid value', key: false }
  }
}

/** Protobuf JSON treats `null` as "field not set"; the schema must see it that way too. */
function withoutNulls(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutNulls)
  if (typeof value !== 'object' || value === null) return value
  const out: Record<string, unknown> = {}
  for (const [k, v] of Object.entries(value)) if (v !== null) out[k] = withoutNulls(v)
  return out
}

/** The result of checking one document. */
export interface ValidatedDocument {
  readonly doc: ParsedDocument
  readonly def: PolicyDocumentDef
  readonly kind: PolicyKindKey
}

/**
 * Validates the document's shape and finds its kind.
 *
 * @returns the typed document, or the issues that stop it from being compiled
 */
export function validateDocument(doc: ParsedDocument): { ok: ValidatedDocument } | { issues: PolicyIssue[] } {
  const value = doc.value
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return { issues: [issueAt(doc, [], 'policy document must be a mapping')] }
  }
  const present = POLICY_KIND_KEYS.filter((k) => k in value)
  const issues: PolicyIssue[] = []
  if (present.length === 0) {
    issues.push(issueAt(doc, [], `missing policy kind: expected one of ${POLICY_KIND_KEYS.join(', ')}`))
  } else if (present.length > 1) {
    issues.push(issueAt(doc, [present[1] as string], `more than one policy kind in one document: ${present.join(', ')}`, true))
  }
  // Disabled policies are skipped before validation, as the Cerbos disk store does.
  if ((value as { disabled?: unknown }).disabled === true && present.length === 1) {
    return { ok: { doc, def: value as PolicyDocumentDef, kind: present[0] as PolicyKindKey } }
  }
  const validate = documentValidator()
  if (!validate(withoutNulls(value))) {
    const seen = new Set<string>()
    for (const err of validate.errors ?? []) {
      // The kind alternatives (top-level oneOf) are reported above in plain words.
      if (err.instancePath === '' && (err.keyword === 'oneOf' || err.schemaPath.includes('/oneOf/'))) continue
      if (err.keyword === 'required' && err.schemaPath.includes('/oneOf/')) continue
      if (err.keyword === 'allOf') continue
      const d = describe(err)
      const issue = issueAt(doc, d.path, d.message, d.key)
      const id = `${issue.path}|${issue.message}`
      if (seen.has(id)) continue
      seen.add(id)
      issues.push(issue)
    }
  }
  if (issues.length > 0) return { issues }
  const def = value as PolicyDocumentDef
  const semantic = checkNames(doc, def)
  if (semantic.length > 0) return { issues: semantic }
  return { ok: { doc, def, kind: present[0] as PolicyKindKey } }
}

/** Finds the first index of each name and reports later duplicates, in Cerbos' words. */
function duplicates(
  doc: ParsedDocument,
  names: ReadonlyArray<string | undefined>,
  pathOfIndex: (i: number) => DocPath,
  message: (name: string, index: number, firstIndex: number, at: string) => string,
): PolicyIssue[] {
  const issues: PolicyIssue[] = []
  const first = new Map<string, number>()
  names.forEach((name, i) => {
    if (!name) return
    const earlier = first.get(name)
    if (earlier === undefined) {
      first.set(name, i)
      return
    }
    const pos = doc.positionOf(pathOfIndex(earlier))
    issues.push(issueAt(doc, pathOfIndex(i), message(name, i + 1, earlier + 1, pos ? ` at ${pos.line}:${pos.column}` : '')))
  })
  return issues
}

/** The checks Cerbos runs on a document after its shape (duplicate names, unsupported fields). */
function checkNames(doc: ParsedDocument, def: PolicyDocumentDef): PolicyIssue[] {
  if (def.resourcePolicy) {
    return duplicates(
      doc,
      (def.resourcePolicy.rules ?? []).map((r) => r.name),
      (i) => ['resourcePolicy', 'rules', i],
      (name, i, j, at) => `duplicate rule name "${name}": rule #${i} has the same name as rule #${j}${at ? ` defined${at}` : ''}`,
    )
  }
  if (def.principalPolicy) {
    const rules = def.principalPolicy.rules ?? []
    const issues = duplicates(
      doc,
      rules.map((r) => r.resource),
      (i) => ['principalPolicy', 'rules', i],
      (name, i, j, at) => `duplicate resource "${name}" at rule #${i}: previous definition in rule #${j}${at}`,
    )
    rules.forEach((rule, r) => {
      issues.push(
        ...duplicates(
          doc,
          rule.actions.map((a) => a.name),
          (i) => ['principalPolicy', 'rules', r, 'actions', i],
          (name, i, j, at) => `duplicate action rule name "${name}": action rule #${i} for resource "${rule.resource}" has the same name as action rule #${j}${at ? ` defined${at}` : ''}`,
        ),
      )
    })
    return issues
  }
  if (def.derivedRoles) {
    return duplicates(
      doc,
      def.derivedRoles.definitions.map((d) => d.name),
      (i) => ['derivedRoles', 'definitions', i],
      (name, i, j, at) => `duplicate derived role definition "${name}": definition #${i} has the same name as definition #${j}${at}`,
    )
  }
  if ((def.exportConstants || def.exportVariables) && Object.keys(def.variables ?? {}).length > 0) {
    const kind = def.exportConstants ? 'export constants' : 'export variables'
    return [issueAt(doc, ['variables'], `${kind} policies do not support the deprecated top-level variables field`)]
  }
  return []
}
