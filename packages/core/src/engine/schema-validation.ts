/**
 * JSON-schema validation of principal and resource attributes with the schemas of the root
 * resource policy. Error messages follow the wording Cerbos reports (santhosh-tekuri/jsonschema).
 */
import type { ErrorObject } from '../policy/ajv.js'
import type { CompiledResourcePolicy } from '../policy/compiled.js'
import { matchesGlob } from '../policy/glob.js'
import type { SchemaRefDef } from '../policy/model.js'
import type { SchemaRegistry } from '../policy/schemas.js'
import type { ValidationError, ValidationErrorSource } from '../types.js'

const quote = (v: unknown): string => JSON.stringify(v)

const jsonType = (v: unknown): string => {
  if (v === null) return 'null'
  if (Array.isArray(v)) return 'array'
  if (typeof v === 'number') return Number.isInteger(v) ? 'integer' : 'number'
  return typeof v
}

function messageOf(err: ErrorObject, data: unknown): string {
  const p = err.params as Record<string, unknown>
  switch (err.keyword) {
    case 'enum':
      return `value must be one of ${(p.allowedValues as unknown[]).map(quote).join(', ')}`
    case 'const':
      return `value must be ${quote(p.allowedValue)}`
    case 'type': {
      const actual = jsonType(data)
      return `expected ${String(p.type).split(',').join(' or ')}, but got ${actual === 'integer' ? 'number' : actual}`
    }
    case 'minimum':
      return `must be >= ${String(p.limit)} but found ${String(data)}`
    case 'maximum':
      return `must be <= ${String(p.limit)} but found ${String(data)}`
    case 'minLength':
      return `length must be >= ${String(p.limit)}, but got ${typeof data === 'string' ? Array.from(data).length : 0}`
    case 'maxLength':
      return `length must be <= ${String(p.limit)}, but got ${typeof data === 'string' ? Array.from(data).length : 0}`
    case 'pattern':
      return `does not match pattern ${quote(p.pattern)}`
    case 'additionalProperties':
      return `additionalProperties ${quote(p.additionalProperty)} not allowed`
    case 'format':
      return `${quote(data)} is not valid ${quote(p.format)}`
    default:
      return err.message ?? 'invalid value'
  }
}

function valueAt(root: unknown, pointer: string): unknown {
  if (pointer === '') return root
  let cur: unknown = root
  for (const raw of pointer.slice(1).split('/')) {
    const key = raw.replace(/~1/g, '/').replace(/~0/g, '~')
    if (typeof cur !== 'object' || cur === null) return undefined
    cur = (cur as Record<string, unknown>)[key]
  }
  return cur
}

function validateAttr(registry: SchemaRegistry, ref: SchemaRefDef | undefined, attr: Record<string, unknown>, actions: readonly string[], source: ValidationErrorSource): ValidationError[] {
  if (!ref?.ref) return []
  const ignore = ref.ignoreWhen?.actions ?? []
  if (ignore.length > 0 && actions.every((a) => ignore.some((g) => matchesGlob(g, a)))) return []
  let validate
  try {
    validate = registry.validator(ref.ref)
  } catch (err) {
    const label = source === 'SOURCE_PRINCIPAL' ? 'principal' : 'resource'
    return [{ path: '', message: `Failed to load ${label} schema "${ref.ref}": ${err instanceof Error ? err.message : String(err)}`, source }]
  }
  if (validate(attr)) return []
  const out: ValidationError[] = []
  const required = new Map<string, string[]>()
  // A type mismatch ends validation of that schema at that instance (santhosh-tekuri/jsonschema),
  // so sibling keywords (enum, pattern, ...) of the same schema are not reported.
  const parentOf = (schemaPath: string): string => schemaPath.slice(0, schemaPath.lastIndexOf('/'))
  const typeFailed = new Set((validate.errors ?? []).filter((e) => e.keyword === 'type').map((e) => `${e.instancePath}\0${parentOf(e.schemaPath)}`))
  for (const err of validate.errors ?? []) {
    if (err.keyword !== 'type' && typeFailed.has(`${err.instancePath}\0${parentOf(err.schemaPath)}`)) continue
    if (err.keyword === 'required') {
      const list = required.get(err.instancePath) ?? []
      list.push(String((err.params as { missingProperty: unknown }).missingProperty))
      required.set(err.instancePath, list)
      continue
    }
    if (['allOf', 'anyOf', 'oneOf', 'if', 'not'].includes(err.keyword) && (validate.errors?.length ?? 0) > 1) continue
    out.push({ path: err.instancePath || '/', message: messageOf(err, valueAt(attr, err.instancePath)), source })
  }
  for (const [path, props] of required) {
    out.push({ path: path || '/', message: `missing properties: ${props.map((p) => `'${p}'`).join(', ')}`, source })
  }
  return out
}

/**
 * Validates both attribute sets against the root policy's schemas.
 *
 * @returns every validation error (principal first, then resource)
 */
export function validateAttributes(
  registry: SchemaRegistry,
  policy: CompiledResourcePolicy | undefined,
  principalAttr: Record<string, unknown>,
  resourceAttr: Record<string, unknown>,
  actions: readonly string[],
): ValidationError[] {
  if (!policy?.schemas) return []
  return [
    ...validateAttr(registry, policy.schemas.principalSchema, principalAttr, actions, 'SOURCE_PRINCIPAL'),
    ...validateAttr(registry, policy.schemas.resourceSchema, resourceAttr, actions, 'SOURCE_RESOURCE'),
  ]
}

/**
 * {@link validateAttributes} for a query plan: resource attributes are partial when planning, so
 * missing required resource properties are not errors (as in Cerbos).
 *
 * @returns every validation error (principal first, then resource)
 */
export function validatePlanAttributes(
  registry: SchemaRegistry,
  policy: CompiledResourcePolicy | undefined,
  principalAttr: Record<string, unknown>,
  resourceAttr: Record<string, unknown>,
  actions: readonly string[],
): ValidationError[] {
  return validateAttributes(registry, policy, principalAttr, resourceAttr, actions).filter(
    (e) => !(e.source === 'SOURCE_RESOURCE' && e.message.startsWith('missing properties')),
  )
}
