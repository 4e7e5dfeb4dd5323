import { readdirSync, watch, type FSWatcher } from 'node:fs'
import { readdir } from 'node:fs/promises'
import { join } from 'node:path'

/** Something that stops watching. */
export interface TreeWatch {
  close(): void
}

// Only macOS and Windows have native recursive watching. Node 20's emulation on Linux misses files
// replaced by rename (the usual atomic deploy), so there we watch every directory ourselves.
const NATIVE_RECURSIVE = process.platform === 'darwin' || process.platform === 'win32'

async function directoriesUnder(root: string): Promise<string[]> {
  const entries = await readdir(root, { recursive: true, withFileTypes: true })
  return [root, ...entries.filter((entry) => entry.isDirectory()).map((entry) => join(entry.parentPath, entry.name))]
}

/**
 * Calls `onChange` for any change under `root`, including files renamed into place and new
 * subdirectories. `onError` is called when watching cannot continue (e.g. the root was removed).
 * @throws when the root cannot be watched at all (the caller falls back to polling)
 */
export function watchTree(root: string, onChange: () => void, onError: (error: unknown) => void): TreeWatch {
  if (NATIVE_RECURSIVE) {
    const watcher = watch(root, { recursive: true, persistent: false }, onChange)
    watcher.on('error', onError)
    return { close: () => watcher.close() }
  }

  const watchers = new Map<string, FSWatcher>()
  let closed = false
  const add = (dir: string): void => {
    if (closed || watchers.has(dir)) return
    try {
      // New subdirectories are watched before the change is reported, so a reload that follows
      // a mkdir is already covered for files written into it afterwards.
      const watcher = watch(dir, { persistent: false }, () => void sync().finally(onChange))
      watcher.on('error', () => {
        watcher.close()
        watchers.delete(dir)
        if (dir === root) onError(new Error(`stopped watching ${root}`))
      })
      watchers.set(dir, watcher)
    } catch (error) {
      if (dir === root) throw error
      // A subdirectory that vanished between listing and watching: nothing to watch.
    }
  }
  // Picks up new subdirectories and forgets removed ones after every event.
  const sync = async (): Promise<void> => {
    const dirs = await directoriesUnder(root).catch(() => [root])
    const wanted = new Set(dirs)
    for (const [dir, watcher] of watchers) {
      if (!wanted.has(dir)) {
        watcher.close()
        watchers.delete(dir)
      }
    }
    for (const dir of dirs) add(dir)
  }

  // The first walk is synchronous (start-up, not the request path), so every directory is watched
  // by the time watchPolicies returns and no change made right after it can be missed.
  add(root)
  for (const entry of readdirSync(root, { recursive: true, withFileTypes: true })) {
    if (entry.isDirectory()) add(join(entry.parentPath, entry.name))
  }
  return {
    close() {
      closed = true
      for (const watcher of watchers.values()) watcher.close()
      watchers.clear()
    },
  }
}
