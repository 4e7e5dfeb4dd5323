/**
 * The Cerbos test-suite format (`*_test.yaml` and the `testdata/` fixture files), read strictly into
 * typed definitions. Field names follow Cerbos's `TestSuite` schema.
 */
import type { AuxData, Principal, Resource } from '../types.js'
import type { DocumentChecker, PlainObject } from './checker.js'
import type { DocPath, SourceDocument } from './source.js'
import type { TestEffect } from './results.js'

/** `options` of a suite or a test. A test's options replace the suite's (they are not merged). */
export interface TestOptions {
  now?: Date | undefined
  defaultPolicyVersion?: string | undefined
  defaultScope?: string | undefined
  lenientScopeSearch: boolean
  strictEvaluation: boolean
  globals: Record<string, unknown>
}

/** One expected output of one action. */
export interface ExpectedOutput {
  src: string
  val: unknown
}

/** One `expected[]` entry: the principals and resources it covers and their effects and outputs. */
export interface Expectation {
  principals: string[]
  principalGroups: string[]
  resources: string[]
  resourceGroups: string[]
  actions: Record<string, TestEffect>
  outputs: { action: string; expected: ExpectedOutput[] }[]
}

/** One `tests[]` entry. */
export interface TestDefinition {
  name: string
  description?: string | undefined
  skip: boolean
  skipReason?: string | undefined
  options?: TestOptions | undefined
  input: {
    principals: string[]
    principalGroups: string[]
    resources: string[]
    resourceGroups: string[]
    actions: string[]
    auxData?: string | undefined
  }
  expected: Expectation[]
}

/** Named principals, resources, aux data and groups, from a suite or from `testdata/`. */
export interface Fixtures {
  principals: Map<string, Principal>
  principalGroups: Map<string, string[]>
  resources: Map<string, Resource>
  resourceGroups: Map<string, string[]>
  auxData: Map<string, AuxData>
}

/** A whole suite file. */
export interface SuiteDefinition {
  name: string
  description?: string | undefined
  skip: boolean
  skipReason?: string | undefined
  options?: TestOptions | undefined
  fixtures: Fixtures
  tests: TestDefinition[]
}

const EFFECTS: readonly string[] = ['EFFECT_ALLOW', 'EFFECT_DENY']

/** An empty fixture set. */
export function emptyFixtures(): Fixtures {
  return { principals: new Map(), principalGroups: new Map(), resources: new Map(), resourceGroups: new Map(), auxData: new Map() }
}

function attrOf(check: DocumentChecker, value: unknown, path: DocPath): Record<string, unknown> | undefined {
  return check.map(value, path)
}

/** Reads one principal fixture. */
export function readPrincipal(check: DocumentChecker, value: unknown, path: DocPath): Principal | undefined {
  const obj = check.object(value, path, ['id', 'roles', 'attr', 'policyVersion', 'scope'])
  if (!obj) return undefined
  const id = check.string(obj['id'], [...path, 'id'], true)
  const roles = check.strings(obj['roles'], [...path, 'roles'], true)
  const principal: Principal = { id: id ?? '', roles }
  const attr = attrOf(check, obj['attr'], [...path, 'attr'])
  if (attr) principal.attr = attr
  const policyVersion = check.string(obj['policyVersion'], [...path, 'policyVersion'])
  if (policyVersion !== undefined) principal.policyVersion = policyVersion
  const scope = check.string(obj['scope'], [...path, 'scope'])
  if (scope !== undefined) principal.scope = scope
  return principal
}

/** Reads one resource fixture. */
export function readResource(check: DocumentChecker, value: unknown, path: DocPath): Resource | undefined {
  const obj = check.object(value, path, ['kind', 'id', 'attr', 'policyVersion', 'scope'])
  if (!obj) return undefined
  const kind = check.string(obj['kind'], [...path, 'kind'], true)
  const id = check.string(obj['id'], [...path, 'id'], true)
  const resource: Resource = { kind: kind ?? '', id: id ?? '' }
  const attr = attrOf(check, obj['attr'], [...path, 'attr'])
  if (attr) resource.attr = attr
  const policyVersion = check.string(obj['policyVersion'], [...path, 'policyVersion'])
  if (policyVersion !== undefined) resource.policyVersion = policyVersion
  const scope = check.string(obj['scope'], [...path, 'scope'])
  if (scope !== undefined) resource.scope = scope
  return resource
}

/**
 * Reads one aux data fixture: `{jwt: {claims}}`, or `{jwts: {name: {claims: {...}}}}` which is passed on
 * as `auxData.jwts` (policies read it as `request.auxData.jwts.<name>.claims`).
 */
export function readAuxData(check: DocumentChecker, value: unknown, path: DocPath): AuxData | undefined {
  const obj = check.object(value, path, ['jwt', 'jwts'])
  if (!obj) return undefined
  const jwt = check.map(obj['jwt'], [...path, 'jwt'])
  const jwts = check.map(obj['jwts'], [...path, 'jwts'])
  if (jwt && jwts) check.report(path, 'jwt and jwts may not both be present')
  if (jwts) {
    const tokens: Record<string, { claims: Record<string, unknown> }> = {}
    for (const [name, token] of Object.entries(jwts)) {
      const t = check.object(token, [...path, 'jwts', name], ['claims'])
      tokens[name] = { claims: (t ? check.map(t['claims'], [...path, 'jwts', name, 'claims']) : undefined) ?? {} }
    }
    // `AuxData` types only `jwt`; engines that understand several tokens read `jwts`.
    return { jwts: tokens } as AuxData
  }
  return jwt ? { jwt } : {}
}

function readGroups(check: DocumentChecker, value: unknown, path: DocPath, member: 'principals' | 'resources'): Map<string, string[]> {
  const groups = new Map<string, string[]>()
  const obj = check.map(value, path)
  for (const [name, group] of Object.entries(obj ?? {})) {
    const g = check.object(group, [...path, name], [member])
    if (g) groups.set(name, check.strings(g[member], [...path, name, member], true))
  }
  return groups
}

/** Reads the named-fixture blocks of a suite or a fixture file into `into`, overriding entries of the same name. */
export function readFixtureBlocks(check: DocumentChecker, obj: PlainObject, into: Fixtures): void {
  for (const [name, value] of Object.entries(check.map(obj['principals'], ['principals']) ?? {})) {
    const principal = readPrincipal(check, value, ['principals', name])
    if (principal) into.principals.set(name, principal)
  }
  for (const [name, value] of Object.entries(check.map(obj['resources'], ['resources']) ?? {})) {
    const resource = readResource(check, value, ['resources', name])
    if (resource) into.resources.set(name, resource)
  }
  for (const [name, value] of Object.entries(check.map(obj['auxData'], ['auxData']) ?? {})) {
    const aux = readAuxData(check, value, ['auxData', name])
    if (aux) into.auxData.set(name, aux)
  }
  for (const [name, members] of readGroups(check, obj['principalGroups'], ['principalGroups'], 'principals')) into.principalGroups.set(name, members)
  for (const [name, members] of readGroups(check, obj['resourceGroups'], ['resourceGroups'], 'resources')) into.resourceGroups.set(name, members)
}

/** RFC 3339 timestamp with a zone, as Go's time.RFC3339 parser accepts it. */
const RFC3339 = /^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/

function readOptions(check: DocumentChecker, value: unknown, path: DocPath): TestOptions | undefined {
  if (value === undefined || value === null) return undefined
  const obj = check.object(value, path, ['now', 'defaultPolicyVersion', 'defaultScope', 'lenientScopeSearch', 'strictEvaluation', 'globals'])
  if (!obj) return undefined
  const options: TestOptions = {
    lenientScopeSearch: check.boolean(obj['lenientScopeSearch'], [...path, 'lenientScopeSearch']),
    strictEvaluation: check.boolean(obj['strictEvaluation'], [...path, 'strictEvaluation']),
    globals: check.map(obj['globals'], [...path, 'globals']) ?? {},
  }
  const now = check.string(obj['now'], [...path, 'now'])
  if (now !== undefined) {
    const date = new Date(now)
    if (!RFC3339.test(now) || Number.isNaN(date.getTime())) check.report([...path, 'now'], `invalid timestamp value ${JSON.stringify(now)}: expected RFC 3339`)
    else options.now = date
  }
  const version = check.string(obj['defaultPolicyVersion'], [...path, 'defaultPolicyVersion'])
  if (version !== undefined) options.defaultPolicyVersion = version
  // An explicit empty default scope is meaningful (it overrides nothing but is still "set").
  if (typeof obj['defaultScope'] === 'string') options.defaultScope = obj['defaultScope']
  return options
}

/** `principal` | `principals` | `principalGroups` (and the same for resources): at least one, not both singular and plural. */
function readTargets(check: DocumentChecker, obj: PlainObject, path: DocPath, singular: 'principal' | 'resource'): { names: string[]; groups: string[] } {
  const plural = `${singular}s`
  const groupsKey = `${singular}Groups`
  const one = check.string(obj[singular], [...path, singular])
  const many = check.strings(obj[plural], [...path, plural])
  const groups = check.strings(obj[groupsKey], [...path, groupsKey])
  if (one !== undefined && many.length > 0) check.report(path, `${singular} and ${plural} may not both be present`)
  else if (one === undefined && many.length === 0 && groups.length === 0) check.report(path, `${singular}, ${plural}, or ${groupsKey} must be present`)
  return { names: one !== undefined ? [one] : many, groups }
}

function readExpectation(check: DocumentChecker, value: unknown, path: DocPath): Expectation | undefined {
  const obj = check.object(value, path, ['principal', 'principals', 'principalGroups', 'resource', 'resources', 'resourceGroups', 'actions', 'outputs'])
  if (!obj) return undefined
  const principals = readTargets(check, obj, path, 'principal')
  const resources = readTargets(check, obj, path, 'resource')
  const actions: Record<string, TestEffect> = {}
  const actionMap = check.map(obj['actions'], [...path, 'actions'])
  if (!actionMap || Object.keys(actionMap).length === 0) check.report([...path, 'actions'], 'value is required')
  for (const [action, effect] of Object.entries(actionMap ?? {})) {
    if (typeof effect !== 'string' || !EFFECTS.includes(effect)) check.report([...path, 'actions', action], 'must be one of [EFFECT_ALLOW, EFFECT_DENY]')
    else actions[action] = effect as TestEffect
  }
  const outputs = check.list(obj['outputs'], [...path, 'outputs']).flatMap((entry, i) => {
    const p = [...path, 'outputs', i]
    const o = check.object(entry, p, ['action', 'expected'])
    if (!o) return []
    const action = check.string(o['action'], [...p, 'action'], true)
    const expected = check.list(o['expected'], [...p, 'expected'], true).flatMap((e, j) => {
      const ep = [...p, 'expected', j]
      const eo = check.object(e, ep, ['src', 'val'])
      const src = eo ? check.string(eo['src'], [...ep, 'src'], true) : undefined
      return eo && src !== undefined ? [{ src, val: eo['val'] ?? null }] : []
    })
    return action !== undefined ? [{ action, expected }] : []
  })
  return {
    principals: principals.names,
    principalGroups: principals.groups,
    resources: resources.names,
    resourceGroups: resources.groups,
    actions,
    outputs,
  }
}

function readTest(check: DocumentChecker, value: unknown, path: DocPath): TestDefinition | undefined {
  const obj = check.object(value, path, ['name', 'description', 'skip', 'skipReason', 'options', 'input', 'expected'])
  if (!obj) return undefined
  const name = check.string(obj['name'], [...path, 'name'], true) ?? ''
  const inputPath = [...path, 'input']
  const input =
    obj['input'] === undefined
      ? (check.report(inputPath, 'value is required'), undefined)
      : check.object(obj['input'], inputPath, ['principals', 'principalGroups', 'resources', 'resourceGroups', 'actions', 'auxData'])
  const principals = check.strings(input?.['principals'], [...inputPath, 'principals'])
  const principalGroups = check.strings(input?.['principalGroups'], [...inputPath, 'principalGroups'])
  const resources = check.strings(input?.['resources'], [...inputPath, 'resources'])
  const resourceGroups = check.strings(input?.['resourceGroups'], [...inputPath, 'resourceGroups'])
  if (input && principals.length + principalGroups.length === 0) check.report(inputPath, 'principals or principalGroups must be present')
  if (input && resources.length + resourceGroups.length === 0) check.report(inputPath, 'resources or resourceGroups must be present')
  const actions = check.strings(input?.['actions'], [...inputPath, 'actions'], input !== undefined)
  const auxData = check.string(input?.['auxData'], [...inputPath, 'auxData'])
  const expected = check.list(obj['expected'], [...path, 'expected']).flatMap((e, i) => readExpectation(check, e, [...path, 'expected', i]) ?? [])
  return {
    name,
    description: check.string(obj['description'], [...path, 'description']),
    skip: check.boolean(obj['skip'], [...path, 'skip']),
    skipReason: check.string(obj['skipReason'], [...path, 'skipReason']),
    options: readOptions(check, obj['options'], [...path, 'options']),
    input: { principals, principalGroups, resources, resourceGroups, actions, auxData },
    expected,
  }
}

const SUITE_FIELDS = [
  '$schema',
  'name',
  'description',
  'skip',
  'skipReason',
  'options',
  'principals',
  'principalGroups',
  'resources',
  'resourceGroups',
  'auxData',
  'tests',
] as const

/** Reads a suite document. Problems are collected in `check.issues`; the result is only usable when there are none. */
export function readSuite(doc: SourceDocument, check: DocumentChecker): SuiteDefinition {
  const obj = check.object(doc.value, [], SUITE_FIELDS) ?? {}
  const name = check.string(obj['name'], ['name'], true) ?? ''
  const fixtures = emptyFixtures()
  readFixtureBlocks(check, obj, fixtures)
  const tests = check.list(obj['tests'], ['tests'], true).flatMap((t, i) => readTest(check, t, ['tests', i]) ?? [])
  return {
    name,
    description: check.string(obj['description'], ['description']),
    skip: check.boolean(obj['skip'], ['skip']),
    skipReason: check.string(obj['skipReason'], ['skipReason']),
    options: readOptions(check, obj['options'], ['options']),
    fixtures,
    tests,
  }
}
