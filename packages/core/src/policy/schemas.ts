/**
 * JSON Schemas from `_schemas/` (draft 2020-12), addressed as `cerbos:///<path>`. Schemas are
 * compiled lazily once and shared by every check.
 */
import { Ajv2020, type ValidateFunction } from './ajv.js'

/** The `cerbos:///` URL scheme prefix. */
export const SCHEMA_URL_PREFIX = 'cerbos:///'

/** Compiled attribute schemas by reference. */
export interface SchemaRegistry {
  /** Every known reference (`cerbos:///principal.json`, ...). */
  readonly refs: readonly string[]
  /**
   * The validator for `ref`.
   *
   * @throws Error with Cerbos-like wording when the schema is missing or does not compile
   */
  validator(ref: string): ValidateFunction
}

/**
 * Builds a registry from raw schema documents.
 *
 * @param schemas - path relative to `_schemas/` → parsed JSON
 * @param unreadable - path → why it could not be parsed (an error only where referenced)
 */
export function createSchemaRegistry(schemas: ReadonlyMap<string, unknown>, unreadable: ReadonlyMap<string, string> = new Map()): SchemaRegistry {
  const ajv = new Ajv2020({ allErrors: true, strict: false, validateFormats: false })
  const failed = new Map<string, Error>()
  for (const [path, reason] of unreadable) failed.set(`${SCHEMA_URL_PREFIX}${path}`, new Error(`jsonschema ${SCHEMA_URL_PREFIX}${path} compilation failed: ${reason}`))
  const compiled = new Map<string, ValidateFunction>()
  const refs: string[] = []
  for (const [path, schema] of schemas) {
    const ref = `${SCHEMA_URL_PREFIX}${path}`
    refs.push(ref)
    try {
      const doc = typeof schema === 'object' && schema !== null ? { ...(schema) } : schema
      if (typeof doc === 'object' && doc !== null) delete (doc as { $id?: unknown }).$id
      ajv.addSchema(doc as object, ref)
    } catch (err) {
      failed.set(ref, err instanceof Error ? err : new Error(String(err)))
    }
  }
  return {
    refs,
    validator(ref) {
      const done = compiled.get(ref)
      if (done) return done
      const earlier = failed.get(ref)
      if (earlier) throw earlier
      // Only `cerbos:///` references resolve into `_schemas/`; anything else is looked up as written.
      if (!ref.startsWith(SCHEMA_URL_PREFIX) || !schemas.has(ref.slice(SCHEMA_URL_PREFIX.length))) {
        throw new Error(`schema ${displayRef(ref)} doesn't exist`)
      }
      try {
        const fn = ajv.getSchema(ref)
        if (!fn) throw new Error(`schema ${displayRef(ref)} doesn't exist`)
        compiled.set(ref, fn)
        return fn
      } catch (err) {
        const missing = (err as { missingRef?: unknown }).missingRef
        const error =
          typeof missing === 'string'
            ? new Error(`schema ${displayRef(missing.replace(/#.*$/, ''))} referenced by ${ref} doesn't exist`)
            : new Error(`jsonschema ${ref} compilation failed: ${err instanceof Error ? err.message : String(err)}`)
        failed.set(ref, error)
        throw error
      }
    },
  }
}

/** How Cerbos names a schema location in errors: `_schemas/x.json`, `/x.json` (file URL) or the URL. */
function displayRef(ref: string): string {
  if (ref.startsWith(SCHEMA_URL_PREFIX)) return `_schemas/${ref.slice(SCHEMA_URL_PREFIX.length)}`
  if (ref.startsWith('file://')) return ref.slice('file://'.length)
  return ref
}
