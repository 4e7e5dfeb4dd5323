/**
 * The declaration files (`.d.mts`) that give the TypeScript tests the types of the JavaScript samples
 * and scripts stay in step with their modules: every value a declaration exports is exported by the
 * module, and every value the module exports is declared. (Each module's own JSDoc is checked by
 * `tsc -p examples`; this keeps the two surfaces from drifting apart by name.)
 */
import { readdirSync, readFileSync } from 'node:fs'
import { dirname, join, relative } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import ts from 'typescript'
import { describe, expect, it } from 'vitest'

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..')

function declarationFiles(dir: string): string[] {
  const found: string[] = []
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.name === 'node_modules') continue
    const path = join(dir, entry.name)
    if (entry.isDirectory()) found.push(...declarationFiles(path))
    else if (entry.name.endsWith('.d.mts')) found.push(path)
  }
  return found
}

const hasExport = (node: ts.Node): boolean => ts.canHaveModifiers(node) && (ts.getModifiers(node) ?? []).some((m) => m.kind === ts.SyntaxKind.ExportKeyword)

/** The value names a declaration file exports (types and interfaces are not runtime exports). */
function declaredValues(path: string): string[] {
  const source = ts.createSourceFile(path, readFileSync(path, 'utf8'), ts.ScriptTarget.ES2022, false)
  const names: string[] = []
  for (const statement of source.statements) {
    if (!hasExport(statement)) {
      if (ts.isExportDeclaration(statement) && !statement.isTypeOnly && statement.exportClause && ts.isNamedExports(statement.exportClause)) {
        for (const element of statement.exportClause.elements) if (!element.isTypeOnly) names.push(element.name.text)
      }
      continue
    }
    if (ts.isFunctionDeclaration(statement) || ts.isClassDeclaration(statement)) {
      if (statement.name) names.push(statement.name.text)
    } else if (ts.isVariableStatement(statement)) {
      for (const declaration of statement.declarationList.declarations) if (ts.isIdentifier(declaration.name)) names.push(declaration.name.text)
    }
  }
  return names.sort()
}

const FILES = [...declarationFiles(join(ROOT, 'examples')), ...declarationFiles(join(ROOT, 'scripts'))].sort()

describe('declarations of the JavaScript samples and scripts', () => {
  it('finds the declaration files', () => {
    expect(FILES.length).toBeGreaterThan(0)
  })

  it.each(FILES.map((file) => [relative(ROOT, file), file]))('%s declares exactly what its module exports', async (_name, file) => {
    const module = (await import(pathToFileURL(file.replace(/\.d\.mts$/, '.mjs')).href)) as Record<string, unknown>
    expect(declaredValues(file)).toEqual(Object.keys(module).sort())
  })
})
