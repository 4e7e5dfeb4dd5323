// The public face of @meshguard/core: a narrow main entry where every name is documented, and the
// subpaths for what most applications never import. Read from the source entry files with the
// TypeScript compiler, so a name added without TSDoc (or one too many) fails here.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import ts from 'typescript'
import { describe, expect, it } from 'vitest'

const src = fileURLToPath(new URL('../../packages/core/src/', import.meta.url))
const MAIN_ENTRY_LIMIT = 150

interface ExportedName {
  name: string
  documented: boolean
}

function exportsOf(entryFile: string): ExportedName[] {
  const program = ts.createProgram([entryFile], {
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    target: ts.ScriptTarget.ES2022,
    noEmit: true,
  })
  const checker = program.getTypeChecker()
  const file = program.getSourceFile(entryFile)
  if (!file) throw new Error(`cannot read ${entryFile}`)
  const moduleSymbol = checker.getSymbolAtLocation(file)
  if (!moduleSymbol) throw new Error(`${entryFile} is not a module`)
  return checker.getExportsOfModule(moduleSymbol).map((exported) => {
    const target = exported.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(exported) : exported
    return { name: exported.name, documented: ts.displayPartsToString(target.getDocumentationComment(checker)).trim() !== '' }
  })
}

describe('the export reader', () => {
  it('sees an export without TSDoc, through a re-export', () => {
    const dir = mkdtempSync(join(tmpdir(), 'meshguard-surface-'))
    try {
      writeFileSync(join(dir, 'a.ts'), '/** Documented. */\nexport const documented = 1\nexport const bare = 2\n')
      writeFileSync(join(dir, 'entry.ts'), "export { documented, bare } from './a.js'\n")
      expect(exportsOf(join(dir, 'entry.ts'))).toEqual([
        { name: 'documented', documented: true },
        { name: 'bare', documented: false },
      ])
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})

describe('@meshguard/core main entry', () => {
  const names = exportsOf(`${src}index.ts`)

  it(`names at most ${MAIN_ENTRY_LIMIT} exports`, () => {
    expect(names.length).toBeGreaterThan(50)
    expect(names.length).toBeLessThanOrEqual(MAIN_ENTRY_LIMIT)
  })

  it('documents every export with TSDoc', () => {
    expect(names.filter((n) => !n.documented).map((n) => n.name)).toEqual([])
  })

  it('names every export (no `export *`) and leaks no internal helper', () => {
    const text = ts.sys.readFile(`${src}index.ts`) ?? ''
    expect(text).not.toMatch(/export \*/)
    const exported = new Set(names.map((n) => n.name))
    for (const internal of ['kActorToken', 'SINGLE_VALUE_HEADERS', 'digestSources', 'NO_MATCH', 'compileGlob', 'CompiledResourcePolicy', 'decideRequest', 'runPolicyTests', 'RemoteEngine', 'fileSink', 'watchPolicies', 'attachRequestGrant']) {
      expect(exported.has(internal), internal).toBe(false)
    }
  })
})

describe.each([
  ['node', 'node.ts', ['watchPolicies', 'fileSink', 'tokenFileSource', 'readPolicyDirectory', 'witFileSource']],
  ['remote', 'remote/index.ts', ['RemoteEngine']],
  ['adapter', 'adapter.ts', ['decideRequest', 'whenDecided', 'compileRoute', 'headerViewOf', 'attachRequestGrant']],
  ['testing', 'testing.ts', ['runPolicyTests', 'formatTestResults', 'embeddedTestEngines']],
  ['telemetry', 'telemetry-names.ts', ['ATTR_AUTHZ_DECISION', 'METRIC_AUTHZ_DECISIONS', 'recordTrustEvents']],
  ['txn-tokens', 'txn-tokens.ts', ['createTxnTokenExchange', 'txnTokenOf', 'InsufficientScopeError', 'TXN_TOKEN_HEADER']],
  ['edge', 'edge.ts', ['createEdgeVerifier', 'jwkThumbprint', 'InsufficientClaimsError', 'InsufficientUserAuthenticationError']],
  ['wimse', 'wimse.ts', ['witIssuerSource', 'WIT_ISSUANCE_PATH', 'WIT_ATTESTATION_TYPES', 'createWimseIdentity', 'staticWitSource', 'WIT_HEADER', 'WIT_ATTRIBUTES_CLAIM']],
] as const)('@meshguard/core/%s', (_subpath, file, expected) => {
  const names = exportsOf(`${src}${file}`)
  it('exports what its callers need, each documented', () => {
    const exported = new Set(names.map((n) => n.name))
    for (const name of expected) expect(exported.has(name), name).toBe(true)
    expect(names.filter((n) => !n.documented).map((n) => n.name)).toEqual([])
  })
})
