/**
 * Which attribute paths a JSON schema defines, for the compiler's warnings about attribute paths
 * that no schema defines (`request.resource.attr.ownr` where the schema has `owner`): a typo there
 * compiles, reads nothing and silently denies. Only diagnostics use this; evaluation never does.
 */
import { SCHEMA_URL_PREFIX } from './schemas.js'


/** Where an attribute path leaves its schema: the index of the first undefined key, and the keys defined there. */
export interface UndefinedAttribute {
  readonly index: number
  readonly known: readonly string[]
}

const MAX_REF_DEPTH = 32

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v)
const own = (o: Record<string, unknown>, key: string): unknown => (Object.hasOwn(o, key) ? o[key] : undefined)

/** Looks up `cerbos:///file.json#/json/pointer` or `#/json/pointer` (relative to `root`). */
function resolveRef(ref: string, root: unknown, documents: ReadonlyMap<string, unknown>): { schema: unknown; root: unknown } | undefined {
  const hash = ref.indexOf('#')
  const base = hash < 0 ? ref : ref.slice(0, hash)
  const pointer = hash < 0 ? '' : ref.slice(hash + 1)
  let doc = root
  if (base !== '') {
    if (!base.startsWith(SCHEMA_URL_PREFIX)) return undefined
    doc = documents.get(base.slice(SCHEMA_URL_PREFIX.length))
    if (doc === undefined) return undefined
  }
  let node: unknown = doc
  for (const raw of pointer.split('/').slice(1)) {
    const key = decodeURIComponent(raw).replaceAll('~1', '/').replaceAll('~0', '~')
    if (!isRecord(node)) return undefined
    node = own(node, key)
  }
  return node === undefined ? undefined : { schema: node, root: doc }
}

/** A schema at some point of a path, with the document its local `$ref`s resolve in. */
interface Located {
  readonly schema: unknown
  readonly root: unknown
}

/** What a schema says about one key of an object: the sub-schemas it leads to, nothing (`open`), or that it is not there. */
type KeyLookup = { kind: 'defined'; schemas: Located[] } | { kind: 'open' } | { kind: 'undefined'; known: string[] }

/**
 * The sub-schemas a key leads to. `open` when the schema does not constrain the key (no
 * `properties`, `additionalProperties` allowed explicitly, an unresolvable `$ref`, ...).
 */
function lookupKey(at: Located, key: string, documents: ReadonlyMap<string, unknown>, depth = 0): KeyLookup {
  const { schema, root } = at
  if (schema === false) return { kind: 'undefined', known: [] }
  if (!isRecord(schema) || depth > MAX_REF_DEPTH) return { kind: 'open' }
  const found: Located[] = []
  const known: string[] = []
  let constrained = false
  const ref = own(schema, '$ref')
  if (typeof ref === 'string') {
    const target = resolveRef(ref, root, documents)
    if (target === undefined) return { kind: 'open' }
    const r = lookupKey(target, key, documents, depth + 1)
    if (r.kind === 'open') return r
    constrained = true
    if (r.kind === 'defined') found.push(...r.schemas)
    else known.push(...r.known)
  }
  for (const combinator of ['allOf', 'anyOf', 'oneOf'] as const) {
    const branches = own(schema, combinator)
    if (!Array.isArray(branches)) continue
    for (const branch of branches) {
      const r = lookupKey({ schema: branch, root }, key, documents, depth + 1)
      if (r.kind === 'open') {
        // An allOf branch that says nothing about the key leaves it to the others; an open anyOf/oneOf branch allows it.
        if (combinator !== 'allOf') return r
        continue
      }
      constrained = true
      if (r.kind === 'defined') found.push(...r.schemas)
      else known.push(...r.known)
    }
  }
  const properties = own(schema, 'properties')
  const patterns = own(schema, 'patternProperties')
  const additional = own(schema, 'additionalProperties')
  if (isRecord(properties)) {
    constrained = true
    known.push(...Object.keys(properties))
    if (Object.hasOwn(properties, key)) found.push({ schema: properties[key], root })
  }
  if (isRecord(patterns)) {
    constrained = true
    for (const [pattern, sub] of Object.entries(patterns)) {
      try {
        if (new RegExp(pattern, 'u').test(key)) found.push({ schema: sub, root })
      } catch {
        return { kind: 'open' }
      }
    }
  }
  if (found.length > 0) return { kind: 'defined', schemas: found }
  if (additional === true || isRecord(additional)) return isRecord(additional) ? { kind: 'defined', schemas: [{ schema: additional, root }] } : { kind: 'open' }
  if (!constrained && additional !== false) return { kind: 'open' }
  return { kind: 'undefined', known: [...new Set(known)] }
}

/**
 * Follows `path` (attribute keys) through `schema`.
 *
 * @param schema - the attribute schema (a `_schemas/` document)
 * @param path - keys below `attr`
 * @param documents - every `_schemas/` document by path, for `cerbos:///` references
 * @returns where the path leaves the schema, or undefined when the schema defines (or allows) it
 */
export function undefinedAttribute(schema: unknown, path: readonly string[], documents: ReadonlyMap<string, unknown>): UndefinedAttribute | undefined {
  let current: Located[] = [{ schema, root: schema }]
  for (const [index, key] of path.entries()) {
    const next: Located[] = []
    const known: string[] = []
    for (const at of current) {
      const r = lookupKey(at, key, documents)
      if (r.kind === 'open') return undefined
      if (r.kind === 'defined') next.push(...r.schemas)
      else known.push(...r.known)
    }
    if (next.length === 0) return { index, known }
    current = next
  }
  return undefined
}
