/**
 * Loads the shared fixtures of a suite from its sibling `testdata/` directory: `principals`,
 * `resources` and `auxdata` files (`.yaml`, `.yml` or `.json`). Other file names are not fixtures.
 */
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { DocumentChecker } from './checker.js'
import { emptyFixtures, readFixtureBlocks, type Fixtures } from './definition.js'
import { SourceSyntaxError, formatSourceIssue, readSourceDocument } from './source.js'

/** The `testdata/` fixtures could not be loaded. The message says which file and why. */
export class FixtureError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'FixtureError'
  }
}

const FIXTURE_FILES = [
  { base: 'principals', what: 'principals', keys: ['$schema', 'principals', 'principalGroups'] },
  { base: 'resources', what: 'resources', keys: ['$schema', 'resources', 'resourceGroups'] },
  { base: 'auxdata', what: 'aux data', keys: ['$schema', 'auxData'] },
] as const

async function readFirst(dir: string, base: string): Promise<string | undefined> {
  for (const ext of ['.yaml', '.yml', '.json']) {
    try {
      return await readFile(join(dir, `${base}${ext}`), 'utf8')
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err
    }
  }
  return undefined
}

function checkGroupMembers(groups: Map<string, string[]>, known: Map<string, unknown>, what: string): void {
  for (const [group, members] of groups) {
    for (const member of members) {
      if (!known.has(member)) {
        throw new FixtureError(`failed to load ${what}: missing fixture ${JSON.stringify(member)} referenced in group ${JSON.stringify(group)}`)
      }
    }
  }
}

/**
 * Reads `dir` (a `testdata/` directory). A missing directory or file means no fixtures of that kind.
 *
 * @throws FixtureError when a fixture file is malformed or a group names an unknown fixture.
 */
export async function loadFixtures(dir: string): Promise<Fixtures> {
  const fixtures = emptyFixtures()
  for (const file of FIXTURE_FILES) {
    const text = await readFirst(dir, file.base)
    if (text === undefined) continue
    try {
      const doc = readSourceDocument(text)
      const check = new DocumentChecker(doc)
      const obj = check.object(doc.value, [], file.keys)
      if (obj) readFixtureBlocks(check, obj, fixtures)
      if (check.issues.length > 0) throw new SourceSyntaxError(check.issues)
    } catch (err) {
      if (err instanceof SourceSyntaxError) {
        throw new FixtureError(`failed to load ${file.what}:\n${err.issues.map(formatSourceIssue).join('\n')}`)
      }
      throw err
    }
  }
  checkGroupMembers(fixtures.principalGroups, fixtures.principals, 'principals')
  checkGroupMembers(fixtures.resourceGroups, fixtures.resources, 'resources')
  return fixtures
}
