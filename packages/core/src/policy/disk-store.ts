/**
 * Reads a policy directory the way the Cerbos disk store does: recursive walk, `.`-prefixed names
 * and `testdata/` skipped, only `.yaml`/`.yml`/`.json`, `*_test.*` files are test suites (not
 * policies), and `_schemas/` at the root holds JSON schemas.
 */
import { readdir, readFile, stat } from 'node:fs/promises'
import { join, relative, sep } from 'node:path'
import { PolicyError } from '../errors.js'
import { compilePolicies, type PolicySource } from './compile.js'
import type { CompiledPolicySet } from './compiled.js'

/** The files of a policy directory, split by role. */
export interface PolicyDirectoryFiles {
  /** Policy files (path relative to the directory, `/`-separated). */
  policies: PolicySource[]
  /** JSON schemas under `_schemas/` (path relative to `_schemas/`). */
  schemas: Array<{ path: string; text: string }>
  /** Policy test-suite files (`*_test.yaml|yml|json`), relative paths. */
  testSuites: string[]
}

const POLICY_EXT = /\.(ya?ml|json)$/i
const TEST_SUITE = /_test\.(ya?ml|json)$/i
const SCHEMA_DIR = '_schemas'

const toPosix = (p: string): string => p.split(sep).join('/')

async function isFileTarget(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isFile()
  } catch {
    // A dangling link is skipped.
    return false
  }
}

async function walk(dir: string, visit: (path: string, isDir: boolean) => boolean): Promise<void> {
  const entries = await readdir(dir, { withFileTypes: true })
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
  for (const entry of entries) {
    const full = join(dir, entry.name)
    if (entry.isDirectory()) {
      if (visit(full, true)) await walk(full, visit)
    } else if (entry.isFile() || (entry.isSymbolicLink() && (await isFileTarget(full)))) {
      // Like Go's fs.WalkDir, symlinked files are read and symlinked directories are not entered.
      visit(full, false)
    }
  }
}

/**
 * Lists and reads the files of a policy directory (no compilation).
 *
 * @throws PolicyError when the directory cannot be read
 */
export async function readPolicyDirectory(dir: string): Promise<PolicyDirectoryFiles> {
  const policyPaths: string[] = []
  const schemaPaths: string[] = []
  const testSuites: string[] = []
  const misplacedSchemas: string[] = []
  try {
    await walk(dir, (full, isDir) => {
      const rel = toPosix(relative(dir, full))
      const name = rel.slice(rel.lastIndexOf('/') + 1)
      if (name.startsWith('.')) return false
      const inSchemas = rel === SCHEMA_DIR || rel.startsWith(`${SCHEMA_DIR}/`)
      if (isDir) {
        if (name === SCHEMA_DIR && rel !== SCHEMA_DIR && !inSchemas) {
          misplacedSchemas.push(rel)
          return false
        }
        return inSchemas || name !== 'testdata'
      }
      if (inSchemas) {
        if (/\.json$/i.test(name)) schemaPaths.push(rel)
      } else if (POLICY_EXT.test(name)) {
        if (TEST_SUITE.test(name)) testSuites.push(rel)
        else policyPaths.push(rel)
      }
      return true
    })
  } catch (err) {
    throw new PolicyError([{ file: dir, message: `cannot read policy directory: ${err instanceof Error ? err.message : String(err)}` }], { cause: err })
  }
  if (misplacedSchemas.length > 0) {
    throw new PolicyError(misplacedSchemas.map((file) => ({ file, message: `${SCHEMA_DIR} directory must be under the root of the storage directory` })))
  }
  const read = (rel: string): Promise<string> => readFile(join(dir, ...rel.split('/')), 'utf8')
  const policies = await Promise.all(policyPaths.map(async (file) => ({ file, text: await read(file) })))
  const schemas = await Promise.all(schemaPaths.map(async (rel) => ({ path: rel.slice(SCHEMA_DIR.length + 1), text: await read(rel) })))
  return { policies, schemas, testSuites }
}

/** Options of {@link loadPolicyDirectory}. */
export interface LoadPolicyDirectoryOptions {
  /** Reserved for future options (kept so callers can pass an object today). */
  readonly signal?: AbortSignal | undefined
}

/**
 * Reads and compiles a Cerbos policy directory.
 *
 * @param dir - the policy directory (like the Cerbos disk store's `directory`)
 * @returns the compiled set, with `digest` = sha256 over sorted (relative path, content)
 * @throws PolicyError (`ERR_AUTHZ_POLICY_INVALID`) listing every issue with file:line
 * @example
 * ```ts
 * const set = await loadPolicyDirectory('./policies')
 * ```
 */
export async function loadPolicyDirectory(dir: string, options: LoadPolicyDirectoryOptions = {}): Promise<CompiledPolicySet> {
  options.signal?.throwIfAborted()
  const files = await readPolicyDirectory(dir)
  return compilePolicies(files.policies, { schemas: files.schemas })
}
