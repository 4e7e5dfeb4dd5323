/**
 * fast-check arbitraries for CheckResources requests drawn from a policy vocabulary, plus noise
 * (unknown kinds, roles, actions, versions and scopes; attributes of the wrong type or missing).
 */
import fc from 'fast-check'
import type { CheckResourcesRequest } from '@meshguard/core'
import type { Vocabulary } from './vocabulary.js'

const NOISE = ['zzz', 'unknown', 'x:y', '']

/** A mostly-known value: known choices 9 times in 10, noise otherwise. */
function mostly<T>(known: readonly T[], noise: fc.Arbitrary<T>): fc.Arbitrary<T> {
  if (known.length === 0) return noise
  return fc.oneof({ weight: 9, arbitrary: fc.constantFrom(...known) }, { weight: 1, arbitrary: noise })
}

const noiseString = fc.oneof(fc.constantFrom(...NOISE.filter((n) => n !== '')), fc.string({ minLength: 1, maxLength: 6, unit: 'grapheme-ascii' }))

/** A scope chain element: known scopes and their parents and children. */
function scopesOf(known: Iterable<string>): string[] {
  const out = new Set<string>([''])
  for (const scope of known) {
    const parts = scope.split('.').filter((p) => p !== '')
    for (let i = 1; i <= parts.length; i++) out.add(parts.slice(0, i).join('.'))
    if (scope !== '') out.add(`${scope}.leaf`)
  }
  return [...out]
}

/** Sets `value` at a dotted path inside `target`. */
function setPath(target: Record<string, unknown>, path: string, value: unknown): void {
  const keys = path.split('.')
  let node = target
  for (const key of keys.slice(0, -1)) {
    const next = node[key]
    if (next === null || typeof next !== 'object' || Array.isArray(next)) node[key] = {}
    node = node[key] as Record<string, unknown>
  }
  const last = keys[keys.length - 1]
  if (last !== undefined) node[last] = value
}

function attrArbitrary(paths: readonly string[], strings: readonly string[], numbers: readonly number[]): fc.Arbitrary<Record<string, unknown>> {
  const str = mostly(strings, noiseString)
  const num = numbers.length > 0 ? fc.oneof(fc.constantFrom(...numbers), fc.integer({ min: -5, max: 100 })) : fc.integer({ min: -5, max: 100 })
  const value: fc.Arbitrary<unknown> = fc.oneof(
    { weight: 6, arbitrary: str },
    { weight: 2, arbitrary: num },
    { weight: 1, arbitrary: fc.boolean() },
    { weight: 2, arbitrary: fc.array(str, { maxLength: 3 }) },
    { weight: 1, arbitrary: fc.constant(null) },
  )
  if (paths.length === 0) return fc.constant({})
  return fc.array(fc.tuple(fc.constantFrom(...paths), value), { maxLength: Math.min(8, paths.length + 2) }).map((entries) => {
    const attr: Record<string, unknown> = {}
    for (const [path, v] of entries) setPath(attr, path, v)
    return attr
  })
}

/** Requests of 1–3 resources with 1–4 actions each, shaped like the Cerbos HTTP API body. */
export function requestArbitrary(vocab: Vocabulary): fc.Arbitrary<CheckResourcesRequest> {
  const strings = [...vocab.strings]
  const numbers = [...vocab.numbers]
  const kinds = [...vocab.resources.keys()]
  const allVersions = [...new Set([...vocab.resources.values(), ...vocab.principals.values()].flatMap((e) => [...e.versions]))]
  const allScopes = scopesOf([...vocab.resources.values(), ...vocab.principals.values()].flatMap((e) => [...e.scopes]))
  const roles = [...vocab.roles].filter((r) => r !== '*')
  const actions = [...vocab.actions].flatMap((a) => (a.includes('*') ? [a.replace(/\*/g, 'any'), a.replace(/:\*$/, '')] : [a]))
  const principalIds = [...vocab.principals.keys()]

  const version = fc.oneof({ weight: 6, arbitrary: fc.constant(undefined) }, { weight: 4, arbitrary: mostly(allVersions, fc.constantFrom('v9', 'staging')) })
  const scope = fc.oneof({ weight: 5, arbitrary: fc.constant(undefined) }, { weight: 5, arbitrary: mostly(allScopes, fc.constantFrom('nowhere', 'acme.zzz', '.')) })

  const principal = fc.record({
    id: mostly(principalIds.length > 0 ? [...principalIds, ...strings.slice(0, 5)] : strings, noiseString),
    roles: fc.uniqueArray(mostly(roles, noiseString), { minLength: 1, maxLength: 3 }),
    attr: attrArbitrary([...vocab.principalAttrPaths], strings, numbers),
    policyVersion: version,
    scope,
  })
  const resource = fc.record({
    kind: mostly(kinds, noiseString),
    id: fc.constantFrom('r1', 'XX125', 'doc-1', 'john'),
    attr: attrArbitrary([...vocab.resourceAttrPaths], strings, numbers),
    policyVersion: version,
    scope,
  })
  const entry = fc.record({ resource, actions: fc.uniqueArray(mostly(actions, noiseString), { minLength: 1, maxLength: 4 }) })
  const claims = (vocab.jwtClaimPaths.size > 0 ? attrArbitrary([...vocab.jwtClaimPaths], strings, numbers) : fc.constant({})).map(wellTypedRegisteredClaims)
  // Verified JWT claims on some requests (the differential test turns them into a token for the PDP).
  const auxData = fc.option(claims.map((jwt) => ({ jwt })), { freq: 3, nil: undefined })
  const random = fc.record({ principal, resources: fc.array(entry, { minLength: 1, maxLength: 3 }), auxData })
  const valid = fc
    .oneof({ weight: 1, arbitrary: random }, { weight: 1, arbitrary: coherentArbitrary(vocab, principal, auxData) })
    .map(({ auxData: aux, ...request }) => ({
      ...request,
      ...(aux !== undefined && Object.keys(aux.jwt).length > 0 ? { auxData: aux } : {}),
      includeMeta: true,
      // Empty optional fields are left out, as a client would.
      principal: dropUndefined(request.principal),
      resources: request.resources.map((r) => ({ ...r, resource: dropUndefined(r.resource) })),
    }))
  // A few malformed requests: both sides must reject them.
  const broken = fc.tuple(valid, fc.constantFrom(...BREAKAGES)).map(([request, breakage]) => breakage(structuredClone(request)))
  return fc.oneof({ weight: 30, arbitrary: valid }, { weight: 1, arbitrary: broken })
}

/**
 * Registered JWT claims keep their JWT types: a token with an ill-typed `aud` is not a token (the PDP
 * rejects it while parsing, meshguard's identity layer never produces it). A string `aud` stays a
 * string (both the PDP and the CLI turn it into a list); time claims are left out.
 */
function wellTypedRegisteredClaims(claims: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(claims).filter(([name, value]) => keepsClaim(name, value)))
}

/** Whether {@link wellTypedRegisteredClaims} keeps claim `name` with this value. */
function keepsClaim(name: string, value: unknown): boolean {
  switch (name) {
    case 'iss':
    case 'sub':
    case 'jti':
      return typeof value === 'string'
    case 'aud':
      return typeof value === 'string' || (Array.isArray(value) && value.length > 0 && value.every((a) => typeof a === 'string'))
    case 'exp':
    case 'nbf':
    case 'iat':
      return false
    default:
      return true
  }
}

const BREAKAGES: ((request: CheckResourcesRequest) => CheckResourcesRequest)[] = [
  (r) => ({ ...r, principal: { ...r.principal, roles: [] } }),
  (r) => ({ ...r, principal: { ...r.principal, id: '' } }),
  (r) => ({ ...r, resources: [] }),
  (r) => ({ ...r, resources: r.resources.map((e) => ({ ...e, actions: [] })) }),
  (r) => ({ ...r, resources: r.resources.map((e) => ({ ...e, resource: { ...e.resource, kind: '' } })) }),
]

/**
 * Requests shaped after one policy, so rules actually fire: a kind with a policy, one of its versions
 * and scopes, the actions and roles its rules name, attributes the principal and the resource share
 * (same department, geography, ...) and sometimes the principal as the resource's owner.
 */
function coherentArbitrary(
  vocab: Vocabulary,
  principal: fc.Arbitrary<CheckResourcesRequest['principal']>,
  auxData: fc.Arbitrary<{ jwt: Record<string, unknown> } | undefined>,
): fc.Arbitrary<{ principal: CheckResourcesRequest['principal']; resources: CheckResourcesRequest['resources']; auxData: { jwt: Record<string, unknown> } | undefined }> {
  const kinds = [...vocab.resources].filter(([, names]) => names.versions.size > 0 && names.actions.size > 0)
  if (kinds.length === 0) return fc.record({ principal, resources: fc.constant([]), auxData })
  // Attribute pairs compared by policies: the same name on both sides (`department`), wherever it sits
  // (`act.user.attr.department` on the principal).
  const last = (path: string): string => path.slice(path.lastIndexOf('.') + 1)
  const shared = [...vocab.principalAttrPaths].flatMap((p) => [...vocab.resourceAttrPaths].filter((r) => last(r) === last(p)).map((r) => [p, r] as const))
  const sharedValue = mostly([...vocab.strings], noiseString)
  return fc
    .constantFrom(...kinds)
    .chain(([kind, names]) => {
      const actions = [...names.actions].flatMap((a) => (a.includes('*') ? [a.replace(/\*/g, 'any')] : [a]))
      const roles = [...names.roles].filter((r) => r !== '*')
      return fc.record({
        principal,
        kind: fc.constant(kind),
        version: fc.constantFrom(...names.versions).map((v) => (v === 'default' ? undefined : v)),
        scope: fc.constantFrom(...names.scopes).map((sc) => (sc === '' ? undefined : sc)),
        actions: fc.uniqueArray(fc.constantFrom(...actions), { minLength: 1, maxLength: 4 }),
        roles: roles.length > 0 ? fc.uniqueArray(fc.constantFrom(...roles), { minLength: 1, maxLength: 2 }) : fc.constant(undefined),
        common: fc.array(fc.tuple(fc.constantFrom(...(shared.length > 0 ? shared : [['department', 'department'] as const])), sharedValue), { maxLength: 4 }),
        owner: fc.boolean(),
        auxData,
      })
    })
    .map(({ principal: p, kind, version, scope, actions, roles, common, owner, auxData: aux }) => {
      const principalAttr: Record<string, unknown> = { ...(p.attr ?? {}) }
      const resourceAttr: Record<string, unknown> = {}
      for (const [[principalPath, resourcePath], value] of common) {
        setPath(principalAttr, principalPath, value)
        setPath(resourceAttr, resourcePath, value)
      }
      if (owner) resourceAttr['owner'] = p.id
      return {
        principal: { ...p, roles: roles ?? p.roles, attr: principalAttr, policyVersion: version, scope },
        resources: [{ resource: { kind, id: 'XX125', attr: resourceAttr, policyVersion: version, scope }, actions }],
        auxData: aux,
      }
    })
}

function dropUndefined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T
}
