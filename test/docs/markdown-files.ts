/** The Markdown pages the docs tests read, found the same way by each of them. */
import { readdir } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

/** The repository root. */
export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url))

/** Every `.md` file under `dir` (relative to the repository root), skipping node_modules and dist. */
export async function markdownFiles(dir: string): Promise<string[]> {
  const out: string[] = []
  for (const entry of await readdir(join(REPO_ROOT, dir), { withFileTypes: true })) {
    const path = join(dir, entry.name)
    if (entry.name === 'node_modules' || entry.name === 'dist') continue
    if (entry.isDirectory()) out.push(...(await markdownFiles(path)))
    else if (entry.name.endsWith('.md')) out.push(path)
  }
  return out
}
