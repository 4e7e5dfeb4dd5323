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

  it('ignores disabled policies and rejects duplicates', () => {
    const disabled = compilePolicies([{ file: 'a.yaml', text: `apiVersion: api.cerbos.dev/v1\ndisabled: true\nresourcePolicy:\n  version: default\n  resource: doc\n` }])
    expect(disabled.policies).toEqual([])
    const dupes = issues({ 'a.yaml': rp('  rules: []\n'), 'b.yaml': rp('  rules: []\n') })
    expect(dupes[0]?.message).toMatch(/Duplicate definition of "resource.doc.vdefault"/)
  })
})
