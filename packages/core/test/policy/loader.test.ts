import { mkdir, rm, symlink } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { formatPolicyIssue, loadPolicyDirectory, PolicyError } from '@meshguard/core'
import { readPolicyDirectory } from '@meshguard/core/node'
import { tempPolicyDirs, writePolicyFiles } from '../support/policy-dirs.js'

const GOOD = `apiVersion: api.cerbos.dev/v1
resourcePolicy:
  version: default
  resource: doc
  rules:
    - actions: [read]
      effect: EFFECT_ALLOW
      roles: [user]
`

async function issuesOf(dir: string): Promise<PolicyError> {
  const err = await loadPolicyDirectory(dir).then(() => undefined, (e: unknown) => e)
  expect(err).toBeInstanceOf(PolicyError)
  return err as PolicyError
}

describe('policy directory loading', () => {
  const dirs = tempPolicyDirs('mg-policy-')
  let root: string
  beforeAll(async () => {
    root = await dirs.create()
  })
  afterAll(() => dirs.removeAll())

  it('reads like the Cerbos disk store: skips hidden, testdata, non-policy and test-suite files', async () => {
    const dir = join(root, 'store')
    await writePolicyFiles(dir, {
      'resources/doc.yaml': GOOD,
      'resources/.hidden.yaml': 'not: [valid',
      '.hidden_dir/x.yaml': 'not: [valid',
      'resources/testdata/ignored.yaml': 'not: [valid',
      'resources/doc_test.yaml': 'name: suite\ntests: []\n',
      'README.md': '# not a policy',
      '_schemas/doc.json': '{"type":"object"}',
      '_schemas/ignored.yaml': 'not: [valid',
    })
    await symlink(join(dir, 'resources', 'doc.yaml'), join(root, 'outside.yaml'))
    await mkdir(join(dir, 'links'))
    await symlink(join(root, 'outside.yaml'), join(dir, 'links', 'linked.yaml'))
    await symlink(join(dir, 'resources'), join(dir, 'linked-dir'))
    const files = await readPolicyDirectory(dir)
    // A symlinked file is read (like Go's fs.WalkDir), a symlinked directory is not entered.
    expect(files.policies.map((p) => p.file)).toEqual(['links/linked.yaml', 'resources/doc.yaml'])
    await rm(join(dir, 'links'), { recursive: true })
    expect(files.schemas.map((s) => s.path)).toEqual(['doc.json'])
    expect(files.testSuites).toEqual(['resources/doc_test.yaml'])
    const set = await loadPolicyDirectory(dir)
    expect(set.policies.map((p) => p.key)).toEqual(['resource.doc.vdefault'])
    expect(set.digest).toMatch(/^[0-9a-f]{64}$/)
    expect((await loadPolicyDirectory(dir)).digest).toBe(set.digest)
  })

  it('collects every error of every file, each with file and line', async () => {
    const dir = join(root, 'broken')
    await writePolicyFiles(dir, {
      'a.yaml': 'apiVersion: api.cerbos.dev/v1\nresourcePolicy:\n  version: default\n  resource: doc\n  rules:\n    - actions: [read]\n      effect: EFFECT_MAYBE\n      roles: [user]\n',
      'b.yaml': 'apiVersion: api.cerbos.dev/v1\nresourcePolicy: [unterminated\n',
      'c.yaml': 'apiVersion: api.cerbos.dev/v1\nprincipalPolicy:\n  principal: bob\n  version: default\n  rulez: []\n',
      'd.yaml': 'apiVersion: api.cerbos.dev/v1\ndescription: no kind\n',
    })
    const err = await issuesOf(dir)
    const byFile = new Map(err.issues.map((i) => [i.file, i]))
    expect(byFile.get('a.yaml')).toMatchObject({ line: 7, path: '$.resourcePolicy.rules[0].effect' })
    expect(byFile.get('b.yaml')).toMatchObject({ line: 2, column: 17 })
    expect(byFile.get('b.yaml')?.message).toMatch(/invalid YAML/)
    expect(byFile.get('c.yaml')).toMatchObject({ line: 5, message: 'unknown field "rulez"' })
    expect(byFile.get('d.yaml')?.message).toMatch(/missing policy kind/)
    expect(err.code).toBe('ERR_AUTHZ_POLICY_INVALID')
    expect(err.message).toContain('(and ')
    expect(formatPolicyIssue(byFile.get('c.yaml')!)).toBe('c.yaml:5:3: $.principalPolicy.rulez: unknown field "rulez"')
  })

  it('reports missing scope ancestors (all of them) like Cerbos', async () => {
    const dir = join(root, 'ancestors')
    await writePolicyFiles(dir, {
      'deep.yaml': 'apiVersion: api.cerbos.dev/v1\nresourcePolicy:\n  version: default\n  resource: doc\n  scope: acme.hr.uk\n  rules: []\n',
      'hr.yaml': 'apiVersion: api.cerbos.dev/v1\nresourcePolicy:\n  version: default\n  resource: doc\n  scope: acme.hr\n  rules: []\n',
    })
    const messages = (await issuesOf(dir)).issues.map((i) => `${i.file} ${i.message}`)
    expect(messages.sort()).toEqual([
      'deep.yaml Missing ancestor policy "resource.doc.vdefault"',
      'deep.yaml Missing ancestor policy "resource.doc.vdefault/acme"',
      'hr.yaml Missing ancestor policy "resource.doc.vdefault"',
      'hr.yaml Missing ancestor policy "resource.doc.vdefault/acme"',
    ])
  })

  it('reports an unknown derived-role import, an unknown derived role and a bad CEL expression', async () => {
    const dir = join(root, 'semantic')
    await writePolicyFiles(dir, {
      'root.yaml': 'apiVersion: api.cerbos.dev/v1\nresourcePolicy:\n  version: default\n  resource: doc\n  rules: []\n',
      'acme.yaml': 'apiVersion: api.cerbos.dev/v1\nresourcePolicy:\n  version: default\n  resource: doc\n  scope: acme\n  importDerivedRoles: [nope]\n  rules:\n    - actions: [read]\n      effect: EFFECT_ALLOW\n      derivedRoles: [ghost]\n      condition:\n        match:\n          expr: "P.attr.x ^^ 1"\n',
    })
    const messages = (await issuesOf(dir)).issues.map((i) => `${i.file}:${i.line ?? '-'} ${i.message}`)
    expect(messages).toEqual(
      expect.arrayContaining([
        'acme.yaml:6 Derived roles import "nope" cannot be found',
        'acme.yaml:10 Derived role "ghost" is not defined in any imports',
      ]),
    )
    expect(messages.some((m) => m.startsWith('acme.yaml:13 Invalid expression `P.attr.x ^^ 1`'))).toBe(true)
  })

  it('fails with a PolicyError naming the directory when it cannot be read', async () => {
    const err = await issuesOf(join(root, 'does-not-exist'))
    expect(err.issues[0]?.message).toMatch(/cannot read policy directory/)
  })
})
