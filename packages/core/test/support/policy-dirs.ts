/**
 * Temporary policy directories for tests that read policies from disk (loader, test suites, CLI).
 * Shared by packages/core/test and test/cli.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

/** Relative path (`/`-separated) → file contents. */
export type PolicyFiles = Readonly<Record<string, string>>

/** Writes `files` under `root`, creating parent directories as needed. */
export async function writePolicyFiles(root: string, files: PolicyFiles): Promise<void> {
  for (const [path, text] of Object.entries(files)) {
    const full = join(root, ...path.split('/'))
    await mkdir(join(full, '..'), { recursive: true })
    await writeFile(full, text)
  }
}

/** Temporary directories made by one test file, removed together by `removeAll` (call it in afterAll). */
export interface TempPolicyDirs {
  /** A new empty directory under the OS temp dir, holding `files`. */
  create(files?: PolicyFiles): Promise<string>
  /** Removes every directory `create` made. */
  removeAll(): Promise<void>
}

/** Temporary policy directories named `<prefix>XXXXXX`. */
export function tempPolicyDirs(prefix: string): TempPolicyDirs {
  const dirs: string[] = []
  return {
    async create(files = {}) {
      const dir = await mkdtemp(join(tmpdir(), prefix))
      dirs.push(dir)
      await writePolicyFiles(dir, files)
      return dir
    },
    async removeAll() {
      await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })))
    },
  }
}
