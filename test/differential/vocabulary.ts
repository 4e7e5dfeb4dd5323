/**
 * What a policy directory talks about, read straight from its YAML: resource kinds with their versions
 * and scopes, principal ids, roles, actions, the attribute paths conditions read and the literals they
 * compare against. The request generator draws from this so random requests hit real rules.
 */
import { readFile, readdir } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { join } from 'node:path'
// Core's own yaml (the root has no yaml dependency), loaded through core's package below.
import type * as YamlModule from '../../packages/core/node_modules/yaml/dist/index.js'

// yaml is a dependency of core, not of the workspace root.
const { parse } = createRequire(new URL('../../packages/core/package.json', import.meta.url))('yaml') as typeof YamlModule

/** The names and values a policy set uses. */
export interface Vocabulary {
  /** Resource kind → versions and scopes that have a policy, and the actions and roles its rules name. */
  resources: Map<string, PolicyNames>
  /** Principal ids with principal policies → versions and scopes. */
  principals: Map<string, PolicyNames>
  roles: Set<string>
  actions: Set<string>
  /** Attribute paths read from `request.principal.attr` / `P.attr` (dotted, e.g. `act.user.attr.department`). */
  principalAttrPaths: Set<string>
  /** Attribute paths read from `request.resource.attr` / `R.attr`. */
  resourceAttrPaths: Set<string>
  /** Claim paths read from `request.auxData.jwt` / `request.aux_data.jwt`. */
  jwtClaimPaths: Set<string>
  /** String literals found in conditions and outputs. */
  strings: Set<string>
  /** Number literals found in conditions. */
  numbers: Set<number>
}

/** The names one policy target (a resource kind or a principal id) is used with. */
export interface PolicyNames {
  versions: Set<string>
  scopes: Set<string>
  actions: Set<string>
  roles: Set<string>
}

async function yamlFiles(dir: string): Promise<string[]> {
  const out: string[] = []
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    if (entry.name.startsWith('.') || entry.name === 'testdata' || entry.name === '_schemas') continue
    const full = join(dir, entry.name)
    if (entry.isDirectory()) out.push(...(await yamlFiles(full)))
    else if (/\.(ya?ml|json)$/.test(entry.name) && !/_test\.(ya?ml|json)$/.test(entry.name)) out.push(full)
  }
  return out
}

/** Every string value anywhere in a parsed document (conditions, outputs, variables). */
function* strings(value: unknown): Generator<string> {
  if (typeof value === 'string') yield value
  else if (Array.isArray(value)) for (const v of value) yield* strings(v)
  else if (value !== null && typeof value === 'object') for (const v of Object.values(value)) yield* strings(v)
}

const entry = (map: Vocabulary['resources'], key: string): PolicyNames => {
  let found = map.get(key)
  if (found === undefined) {
    found = { versions: new Set(), scopes: new Set(), actions: new Set(), roles: new Set() }
    map.set(key, found)
  }
  return found
}

const asList = (v: unknown): string[] => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [])
const isRecord = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object'
/** A policy's version or scope as text (YAML may give an unquoted one as a number); `fallback` when absent. */
const scalarText = (v: unknown, fallback: string): string =>
  v === undefined || v === null ? fallback : typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean' ? String(v) : JSON.stringify(v)

/** Reads the vocabulary of a policy directory. */
export async function readVocabulary(dir: string): Promise<Vocabulary> {
  const vocab: Vocabulary = {
    resources: new Map(),
    principals: new Map(),
    roles: new Set(),
    actions: new Set(),
    principalAttrPaths: new Set(),
    resourceAttrPaths: new Set(),
    jwtClaimPaths: new Set(),
    strings: new Set(),
    numbers: new Set(),
  }
  // Derived-role sets by name (their parent roles), and which sets each resource kind imports.
  const derivedParents = new Map<string, string[]>()
  const imports: [string, string][] = []
  for (const file of await yamlFiles(dir)) {
    let doc: unknown
    try {
      doc = parse(await readFile(file, 'utf8'))
    } catch {
      continue
    }
    if (!isRecord(doc)) continue
    const rp = doc['resourcePolicy'] as Record<string, unknown> | undefined
    if (rp && typeof rp['resource'] === 'string') {
      const e = entry(vocab.resources, rp['resource'])
      e.versions.add(scalarText(rp['version'], 'default'))
      e.scopes.add(scalarText(rp['scope'], ''))
      for (const rule of (rp['rules'] as Record<string, unknown>[] | undefined) ?? []) {
        asList(rule['actions']).forEach((a) => (vocab.actions.add(a), e.actions.add(a)))
        asList(rule['roles']).forEach((r) => (vocab.roles.add(r), e.roles.add(r)))
      }
      for (const set of asList(rp['importDerivedRoles'])) imports.push([rp['resource'], set])
    }
    const pp = doc['principalPolicy'] as Record<string, unknown> | undefined
    if (pp && typeof pp['principal'] === 'string') {
      const e = entry(vocab.principals, pp['principal'])
      e.versions.add(scalarText(pp['version'], 'default'))
      e.scopes.add(scalarText(pp['scope'], ''))
      for (const rule of (pp['rules'] as Record<string, unknown>[] | undefined) ?? []) {
        const kind = typeof rule['resource'] === 'string' && !rule['resource'].includes('*') ? entry(vocab.resources, rule['resource']) : undefined
        for (const action of (rule['actions'] as Record<string, unknown>[] | undefined) ?? []) {
          if (typeof action['action'] === 'string') {
            vocab.actions.add(action['action'])
            kind?.actions.add(action['action'])
          }
        }
      }
    }
    const rolePolicy = doc['rolePolicy'] as Record<string, unknown> | undefined
    if (rolePolicy && typeof rolePolicy['role'] === 'string') {
      vocab.roles.add(rolePolicy['role'])
      asList(rolePolicy['parentRoles']).forEach((r) => vocab.roles.add(r))
      for (const rule of (rolePolicy['rules'] as Record<string, unknown>[] | undefined) ?? []) {
        const kind = typeof rule['resource'] === 'string' && !rule['resource'].includes('*') ? entry(vocab.resources, rule['resource']) : undefined
        kind?.roles.add(rolePolicy['role'])
        asList(rule['allowActions']).forEach((a) => (vocab.actions.add(a), kind?.actions.add(a)))
      }
    }
    const dr = doc['derivedRoles'] as Record<string, unknown> | undefined
    for (const def of (dr?.['definitions'] as Record<string, unknown>[] | undefined) ?? []) {
      asList(def['parentRoles']).forEach((r) => vocab.roles.add(r))
      if (typeof dr?.['name'] === 'string') derivedParents.set(dr['name'], [...(derivedParents.get(dr['name']) ?? []), ...asList(def['parentRoles'])])
    }

    for (const text of strings(doc)) {
      for (const m of text.matchAll(/(?:request\.principal|\bP)\.attr\.([A-Za-z_][\w.]*)/g)) if (m[1]) vocab.principalAttrPaths.add(m[1])
      for (const m of text.matchAll(/(?:request\.resource|\bR)\.attr\.([A-Za-z_][\w.]*)/g)) if (m[1]) vocab.resourceAttrPaths.add(m[1])
      for (const m of text.matchAll(/request\.(?:auxData|aux_data)\.jwt\.([A-Za-z_][\w.]*)/g)) if (m[1]) vocab.jwtClaimPaths.add(m[1])
      for (const m of text.matchAll(/"([^"\\]{1,40})"|'([^'\\]{1,40})'/g)) vocab.strings.add(m[1] ?? m[2] ?? '')
      for (const m of text.matchAll(/(?<![\w.])(\d+(?:\.\d+)?)(?![\w.])/g)) vocab.numbers.add(Number(m[1]))
    }
  }
  for (const [kind, set] of imports) for (const role of derivedParents.get(set) ?? []) vocab.resources.get(kind)?.roles.add(role)
  // A path ending in a method call (`attr.tags.exists`) or a CEL macro is cut at the data part.
  const trim = (paths: Set<string>): Set<string> =>
    new Set([...paths].map((p) => p.replace(/\.(exists|all|map|filter|size|contains|startsWith|endsWith|matches|exists_one|inIPAddrRange|timeSince|getHours)$/, '')))
  vocab.principalAttrPaths = trim(vocab.principalAttrPaths)
  vocab.resourceAttrPaths = trim(vocab.resourceAttrPaths)
  vocab.jwtClaimPaths = trim(vocab.jwtClaimPaths)
  vocab.strings.delete('')
  return vocab
}
