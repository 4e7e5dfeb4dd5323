/**
 * What `meshguard compile` tells the author of a broken policy: each diagnostic is provoked by a
 * bad policy written to a temporary directory, and the printed location, code frame, message and
 * suggestion are asserted exactly.
 */
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { compilePolicies, PolicyError } from '@meshguard/core'
import { tempPolicyDirs } from '../../packages/core/test/support/policy-dirs.js'
import { runCliInProcess } from '../support/run-cli.js'

const dirs = tempPolicyDirs('meshguard-compile-diagnostics-')
afterAll(() => dirs.removeAll())

const compile = async (files: Record<string, string>): Promise<{ code: number | null; stderr: string; dir: string }> => {
  const dir = await dirs.create(files)
  const run = await runCliInProcess(['compile', dir, '--skip-tests'])
  return { code: run.code, stderr: run.stderr, dir }
}

const HEADER = 'apiVersion: api.cerbos.dev/v1\n'
const resourcePolicy = (extra: string, rule: string): string =>
  `${HEADER}resourcePolicy:\n  resource: document\n  version: default\n${extra}  rules:\n    - actions: ["read"]\n      effect: EFFECT_ALLOW\n${rule}`

const DERIVED_ROLES = `${HEADER}derivedRoles:
  name: document_roles
  definitions:
    - name: owner
      parentRoles: ["user"]
      condition:
        match:
          expr: request.resource.attr.owner == request.principal.id
`

describe('meshguard compile diagnostics', () => {
  it('prints every error with its source line and a caret under the column, all at once', async () => {
    const run = await compile({
      'a.yaml': resourcePolicy('', '      roles: ["user"]\n      condition:\n        match:\n          expr: "1 +"\n'),
      'b.yaml': resourcePolicy('', '      roles: ["user"]\n      effect: EFFECT_DENY\n'),
    })
    expect(run.code).toBe(1)
    expect(run.stderr).toContain(
      `${join(run.dir, 'a.yaml')}:11:11: $.resourcePolicy.rules[0].condition.match.expr: Invalid expression \`1 +\`: [`,
    )
    expect(run.stderr).toContain('\n  11 |           expr: "1 +"\n     |           ^\n')
    expect(run.stderr).toContain(`${join(run.dir, 'b.yaml')}:9:7: `)
    expect(run.stderr).toContain('\n  9 |       effect: EFFECT_DENY\n    |       ^\n')
    expect(run.stderr.endsWith('\n2 compile error(s)\n')).toBe(true)
  })

  it('reports a YAML syntax error at the opening bracket or quote that is never closed', async () => {
    const run = await compile({
      'bracket.yaml': `${HEADER}resourcePolicy:\n  resource: document\n  importDerivedRoles: [roles\n  version: default\n`,
      'quote.yaml': `${HEADER}resourcePolicy:\n  resource: "document\n  version: default\n`,
      'indent.yaml': `${HEADER}resourcePolicy:\n  rules:\n    - actions: ["read"]\n   effect: EFFECT_ALLOW\n`,
    })
    expect(run.stderr).toContain(`${join(run.dir, 'bracket.yaml')}:4:23: invalid YAML: Flow sequence in block collection must be sufficiently indented and end with a ]`)
    expect(run.stderr).toContain('\n  4 |   importDerivedRoles: [roles\n    |                       ^\n')
    expect(run.stderr).toContain(`${join(run.dir, 'quote.yaml')}:3:13: invalid YAML: Missing closing "quote`)
    // An indentation error is reported at the misplaced key, not at the start of its line.
    expect(run.stderr).toMatch(new RegExp(`${join(run.dir, 'indent.yaml').replaceAll('.', '\\.')}:5:4: invalid YAML: `))
  })

  it('reports a missing derived-roles import once; the roles it would define follow from it', async () => {
    const run = await compile({ 'document.yaml': resourcePolicy('  importDerivedRoles: ["documnet_roles"]\n', '      derivedRoles: ["owner"]\n'), 'roles.yaml': DERIVED_ROLES })
    expect(run.code).toBe(1)
    expect(run.stderr).toBe(
      `${join(run.dir, 'document.yaml')}:5:24: $.resourcePolicy.importDerivedRoles[0]: Derived roles import "documnet_roles" cannot be found\n` +
        '  5 |   importDerivedRoles: ["documnet_roles"]\n' +
        '    |                        ^\n' +
        '  because of it: 9:22: Derived role "owner" is not defined in any imports\n' +
        '\n1 compile error(s)\n',
    )
    // docs/cli.md shows this very output.
    const page = await readFile(new URL('../../docs/cli.md', import.meta.url), 'utf8')
    expect(page).toContain(run.stderr.replaceAll(run.dir, 'policies'))
  })

  it('keeps every Cerbos issue in the PolicyError, marking the consequence with what it follows from', () => {
    const text = resourcePolicy('  variables:\n    import: ["shared"]\n', '      roles: ["user"]\n      condition:\n        match:\n          expr: V.isOwner\n')
    const err = (() => {
      try {
        compilePolicies([{ file: 'document.yaml', text }])
      } catch (e) {
        return e
      }
      return undefined
    })()
    expect(err).toBeInstanceOf(PolicyError)
    const [missing, undefinedVariable] = (err as PolicyError).issues
    expect(missing).toMatchObject({ line: 6, column: 14, message: "Variables import 'shared' cannot be found" })
    expect(undefinedVariable).toMatchObject({ line: 13, message: "Undefined variable 'isOwner'" })
    expect(undefinedVariable?.causedBy).toBe(missing)
  })

  it('validates a derived-roles file that nothing imports', async () => {
    const run = await compile({
      'document.yaml': resourcePolicy('', '      roles: ["user"]\n'),
      'roles.yaml': DERIVED_ROLES.replace('request.principal.id', 'request.principal.id &&'),
    })
    expect(run.code).toBe(1)
    expect(run.stderr).toContain(`${join(run.dir, 'roles.yaml')}:9:11: $.derivedRoles.definitions[0].condition.match.expr: Invalid expression`)
    expect(run.stderr).toContain('1 compile error(s)')
  })

  it('suggests the nearest derived role, variable, constant and function', async () => {
    const run = await compile({
      'roles.yaml': DERIVED_ROLES,
      'document.yaml': resourcePolicy(
        '  importDerivedRoles: ["document_roles"]\n  constants:\n    local:\n      maxLevel: 3\n  variables:\n    local:\n      isOwner: request.resource.attr.owner == request.principal.id\n',
        '      derivedRoles: ["ownr"]\n    - actions: ["edit"]\n      effect: EFFECT_ALLOW\n      roles: ["user"]\n      condition:\n        match:\n          all:\n            of:\n              - expr: V.isOwnr && C.maxLevl > 1\n              - expr: hasIntersectio(request.principal.roles, ["a"])\n',
      ),
    })
    expect(run.stderr).toContain('Derived role "ownr" is not defined in any imports (did you mean "owner"?)')
    expect(run.stderr).toContain("Undefined variable 'isOwnr' (did you mean 'isOwner'?)")
    expect(run.stderr).toContain("Undefined constant 'maxLevl' (did you mean 'maxLevel'?)")
    expect(run.stderr).toContain("[found no matching overload for 'hasIntersectio(dyn, list<string>)'] (did you mean 'hasIntersection'?)")
    expect(run.stderr).toContain('4 compile error(s)')
  })

  it('suggests nothing when no known name is close', async () => {
    const run = await compile({ 'document.yaml': resourcePolicy('', '      roles: ["user"]\n      condition:\n        match:\n          expr: V.somethingElse\n') })
    expect(run.stderr).toContain("Undefined variable 'somethingElse'\n")
  })

  it('warns about attribute paths the policy schemas do not define, with the caret under the key, and still compiles', async () => {
    const run = await compile({
      '_schemas/document.json': JSON.stringify({ type: 'object', properties: { owner: { type: 'string' }, meta: { type: 'object', properties: { team: { type: 'string' } } } } }),
      '_schemas/principal.json': JSON.stringify({ type: 'object', properties: { department: { type: 'string' }, act: { type: 'object' } } }),
      'document.yaml': resourcePolicy(
        '  schemas:\n    principalSchema: { ref: cerbos:///principal.json }\n    resourceSchema: { ref: cerbos:///document.json }\n',
        '      roles: ["user"]\n      condition:\n        match:\n          expr: R.attr.ownr == P.attr.act.user.id && request.resource.attr.meta.teem == request.principal.attr.department\n',
      ),
    })
    expect(run.code).toBe(0)
    expect(run.stderr).toContain(
      `${join(run.dir, 'document.yaml')}:14:24: warning: $.resourcePolicy.rules[0].condition.match.expr: request.resource.attr.ownr is not defined in schema cerbos:///document.json (did you mean 'owner'?)\n  14 |           expr: R.attr.ownr == P.attr.act.user.id && request.resource.attr.meta.teem == request.principal.attr.department\n     |                        ^\n`,
    )
    expect(run.stderr).toContain("request.resource.attr.meta.teem is not defined in schema cerbos:///document.json (did you mean 'team'?)")
    // act has no properties in the schema: anything below it is allowed, as is department.
    expect(run.stderr).not.toContain('expr: request.principal.attr')
    expect(run.stderr.endsWith('\n2 warning(s)\n')).toBe(true)
  })

  it('follows $ref, allOf and additionalProperties in schemas; no schema, no warning', async () => {
    const schema = {
      $defs: { meta: { type: 'object', properties: { team: { type: 'string' } } } },
      allOf: [{ type: 'object', properties: { owner: { type: 'string' }, meta: { $ref: '#/$defs/meta' } } }, { properties: { labels: { type: 'object', additionalProperties: { type: 'string' } } } }],
    }
    const expr = 'R.attr.owner == P.id && R.attr.labels.any == "x" && R.attr.meta.team == "t" && R.attr.meta.tema == "t"'
    const withSchema = await compile({
      '_schemas/document.json': JSON.stringify(schema),
      'document.yaml': resourcePolicy('  schemas:\n    resourceSchema: { ref: cerbos:///document.json }\n', `      roles: ["user"]\n      condition:\n        match:\n          expr: ${expr}\n`),
    })
    expect(withSchema.stderr).toContain("request.resource.attr.meta.tema is not defined in schema cerbos:///document.json (did you mean 'team'?)")
    expect(withSchema.stderr).toContain('1 warning(s)')
    const without = await compile({ 'document.yaml': resourcePolicy('', `      roles: ["user"]\n      condition:\n        match:\n          expr: ${expr}\n`) })
    expect(without).toMatchObject({ code: 0, stderr: '' })
  })

  it('checks the derived roles a policy imports against its schemas', async () => {
    const run = await compile({
      '_schemas/document.json': JSON.stringify({ type: 'object', properties: { owner: { type: 'string' } } }),
      'roles.yaml': DERIVED_ROLES.replace('attr.owner', 'attr.ownerId'),
      'document.yaml': resourcePolicy('  importDerivedRoles: ["document_roles"]\n  schemas:\n    resourceSchema: { ref: cerbos:///document.json }\n', '      derivedRoles: ["owner"]\n'),
    })
    expect(run.code).toBe(0)
    expect(run.stderr).toContain(`${join(run.dir, 'roles.yaml')}:9:39: warning: $.derivedRoles.definitions[0].condition.match.expr: request.resource.attr.ownerId is not defined in schema cerbos:///document.json (did you mean 'owner'?)`)
  })
})
