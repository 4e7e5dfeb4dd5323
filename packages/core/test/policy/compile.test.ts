import { describe, expect, it } from 'vitest'
import { compilePolicies, PolicyError, type PolicyIssue } from '@meshguard/core'

function issues(files: Record<string, string>): PolicyIssue[] {
  try {
    compilePolicies(Object.entries(files).map(([file, text]) => ({ file, text })))
  } catch (err) {
    if (err instanceof PolicyError) return [...err.issues]
    throw err
  }
  return []
}

const rp = (body: string): string => `apiVersion: api.cerbos.dev/v1\nresourcePolicy:\n  version: default\n  resource: doc\n${body}`

describe('compilePolicies', () => {
  it('compiles parsed objects as well as text', () => {
    const set = compilePolicies([
      {
        file: 'doc.json',
        policy: { apiVersion: 'api.cerbos.dev/v1', resourcePolicy: { version: 'default', resource: 'doc', rules: [{ actions: ['read'], effect: 'EFFECT_ALLOW', roles: ['*'] }] } },
      },
    ])
    expect(set.policies[0]).toMatchObject({ kind: 'resource', key: 'resource.doc.vdefault', rules: [{ name: 'rule-001', roles: ['*'] }] })
  })

  it('reports variable cycles, self references and undefined names', () => {
    const found = issues({
      'doc.yaml': rp(`  variables:
    local:
      a: V.b
      b: V.a
      c: V.c
      d: V.nope + C.none
  rules:
    - actions: [read]
      effect: EFFECT_ALLOW
      roles: [user]
      condition:
        match:
          expr: V.d && V.zzz
`),
    }).map((i) => i.message)
    expect(found).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^Variables 'a' \(doc.yaml:7:10\) and 'b' \(doc.yaml:8:10\) form a cycle$/),
        "Variable 'c' references itself",
        "Undefined variable 'nope' referenced in variable 'd'",
        "Undefined constant 'none' referenced in variable 'd'",
        "Undefined variable 'zzz'",
      ]),
    )
  })

  it('reports redefinitions across imports and local definitions', () => {
    const found = issues({
      'vars.yaml': 'apiVersion: api.cerbos.dev/v1\nexportVariables:\n  name: shared\n  definitions:\n    x: "1"\n',
      'doc.yaml': rp(`  variables:
    import: [shared]
    local:
      x: "2"
  rules:
    - actions: [read]
      effect: EFFECT_ALLOW
      roles: [user]
      condition:
        match:
          expr: V.x == 1
`),
    })
    expect(found.map((i) => `${i.file} ${i.message}`)).toEqual([
      "doc.yaml Variable 'x' has multiple definitions in import 'shared' (vars.yaml:5:8) and policy local variables (doc.yaml:8:10)",
    ])
  })

  it('rejects rules without roles, empty outputs, Rego scripts and invalid identifiers', () => {
    const found = issues({
      'doc.yaml': rp(`  constants:
    local:
      "null": 1
  rules:
    - actions: [read]
      effect: EFFECT_ALLOW
    - actions: [write]
      effect: EFFECT_ALLOW
      roles: [user]
      output: {}
      condition:
        script: input.x
`),
    }).map((i) => i.message)
    expect(found).toEqual(
      expect.arrayContaining([
        "Rule 'rule-001' does not specify any roles or derived roles to be matched",
        'output must have at least one expression',
        'Unsupported feature: scripts in conditions are no longer supported',
        '"null" is a reserved keyword and can\'t be used as an identifier',
      ]),
    )
  })

  it('ignores disabled policies (without validating them) and rejects duplicates', () => {
    const disabled = compilePolicies([{ file: 'a.yaml', text: `apiVersion: api.cerbos.dev/v1\ndisabled: true\nresourcePolicy:\n  resource: doc\n  bogus: 1\n` }])
    expect(disabled.policies).toEqual([])
    const dupes = issues({ 'a.yaml': rp('  rules: []\n'), 'b.yaml': rp('  rules: []\n') })
    expect(dupes[0]?.message).toMatch(/Duplicate definition of "resource.doc.vdefault"/)
  })

  it('rejects duplicate rule, resource and derived-role names like Cerbos', () => {
    const found = issues({
      'doc.yaml': rp(`  rules:
    - name: a
      actions: [read]
      effect: EFFECT_ALLOW
      roles: [user]
    - name: a
      actions: [write]
      effect: EFFECT_ALLOW
      roles: [user]
`),
      'p.yaml': 'apiVersion: api.cerbos.dev/v1\nprincipalPolicy:\n  principal: bob\n  version: default\n  rules:\n    - resource: doc\n      actions: [{ action: read, effect: EFFECT_ALLOW }]\n    - resource: doc\n      actions: [{ action: write, effect: EFFECT_ALLOW }]\n',
      'dr.yaml': 'apiVersion: api.cerbos.dev/v1\nderivedRoles:\n  name: set\n  definitions:\n    - { name: x, parentRoles: [a] }\n    - { name: x, parentRoles: [b] }\n',
    }).map((i) => `${i.file}:${i.line} ${i.message}`)
    expect(found).toEqual([
      'doc.yaml:10 duplicate rule name "a": rule #2 has the same name as rule #1 defined at 6:11',
      'p.yaml:8 duplicate resource "doc" at rule #2: previous definition in rule #1 at 6:15',
      'dr.yaml:6 duplicate derived role definition "x": definition #2 has the same name as definition #1 at 5:13',
    ])
  })
})

describe('scope permission conflicts (Cerbos index rules)', () => {
  const doc = (resource: string, perms?: string): string =>
    `apiVersion: api.cerbos.dev/v1\nresourcePolicy:\n  version: default\n  resource: ${resource}\n${perms ? `  scopePermissions: ${perms}\n` : ''}  rules: []\n`

  it('flags a scope once later policies disagree, ignoring the first policy of the scope as Cerbos does', () => {
    // Verified against the Cerbos 0.55 binary: these three conflict, while any two of them compile.
    const three = issues({ 'a.yaml': doc('a'), 'b.yaml': doc('b', 'SCOPE_PERMISSIONS_OVERRIDE_PARENT'), 'c.yaml': doc('c') })
    expect(three.map((i) => i.message)).toEqual(['policies sharing scope  have conflicting scopePermissions'])
    expect(issues({ 'b.yaml': doc('b', 'SCOPE_PERMISSIONS_OVERRIDE_PARENT'), 'c.yaml': doc('c', 'SCOPE_PERMISSIONS_REQUIRE_PARENTAL_CONSENT_FOR_ALLOWS') })).toEqual([])
  })
})
