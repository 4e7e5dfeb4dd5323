import { readdir, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { ConfigError, PolicyError, toMeshguardError, type MeshguardError } from '../errors.js'
import { loadPolicyDirectory, type CompiledPolicySet } from '../policy/index.js'
import type { Telemetry } from '../telemetry/index.js'
import { markPolicyLoaded } from './policy-info.js'
import { watchTree, type TreeWatch } from './tree-watch.js'

/** An engine whose policy set can be replaced atomically. `EmbeddedEngine` fits. */
export interface SwappableEngine<TSet> {
  /** Puts a compiled set in force in one step; checks in flight finish on the set they started with. */
  swap(set: TSet): void
  /** Digest of the set in force. */
  readonly policyDigest?: string | undefined
}

/** The result of one reload attempt. */
export type ReloadEvent =
  | {
      ok: true
      /** Digest now in force. */
      digest: string | undefined
      /** Digest in force before. */
      previousDigest: string | undefined
      /** Whether the digest changed (false for a no-op rewrite). */
      changed: boolean
      /** When the new set went into force. */
      at: Date
    }
  | {
      ok: false
      /** Why the new set was rejected (a `PolicyError` with every issue, or another coded error). */
      error: MeshguardError
      /** Digest still in force (the last good set). */
      digest: string | undefined
      /** When the attempt failed. */
      at: Date
    }

/** Options of {@link watchPolicies}. */
export interface WatchPoliciesOptions<TSet> {
  /**
   * Reads and compiles the directory into a set the engine can swap in; throws `PolicyError` on bad
   * policies. @defaultValue `loadPolicyDirectory` (for `EmbeddedEngine`)
   */
  load: (dir: string) => Promise<TSet> | TSet
  /** Quiet time after the last file event before reloading. @defaultValue 100 */
  debounceMs?: number | undefined
  /**
   * Poll the directory instead of (or when unavailable, in place of) `fs.watch`. Polling compares
   * names, sizes and mtimes of every file. `true` polls every second. @defaultValue false
   */
  poll?: boolean | { intervalMs: number } | undefined
  /** Called after every reload attempt, good or bad. */
  onReload?: ((event: ReloadEvent) => void) | undefined
  /** Counts reloads (`meshguard.policy.reloads`). */
  telemetry?: Pick<Telemetry, 'recordReload'> | undefined
}

/** A running policy watcher. */
export interface PolicyWatcher {
  /**
   * Reloads now (also what file events trigger). Calls made while a reload runs share one reload
   * queued after it, so the result always reflects files written before the call. Never rejects.
   */
  reload(): Promise<ReloadEvent>
  /** The last reload attempt, if any. */
  readonly lastEvent: ReloadEvent | undefined
  /** How files are watched: `fs.watch` or polling. */
  readonly mode: 'watch' | 'poll'
  /** Stops watching and waits for a reload in progress. */
  close(): Promise<void>
}

async function directorySignature(dir: string): Promise<string> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true })
  const files = entries.filter((entry) => entry.isFile()).map((entry) => join(entry.parentPath, entry.name))
  files.sort()
  const parts = await Promise.all(
    files.map(async (file) => {
      const info = await stat(file).catch(() => undefined)
      return info ? `${file}:${info.size}:${info.mtimeMs}` : `${file}:gone`
    }),
  )
  return parts.join('\n')
}

/**
 * Watches a policy directory and hot-reloads it: on change (debounced), the directory is compiled
 * while requests keep using the set in force, then swapped in atomically. A set that fails to
 * compile is rejected with its errors and the last good set stays in force. Returns once every
 * directory is watched.
 *
 * @example
 * ```ts
 * const engine = await EmbeddedEngine.fromDirectory('./policies')
 * const watcher = watchPolicies(engine, './policies', {
 *   onReload: (e) => e.ok || log.error(e.error),
 * })
 * ```
 */
export function watchPolicies(
  engine: SwappableEngine<CompiledPolicySet>,
  dir: string,
  options?: Partial<WatchPoliciesOptions<CompiledPolicySet>>,
): PolicyWatcher
/** Watches with a custom loader (any engine that can swap what the loader returns). */
export function watchPolicies<TSet>(
  engine: SwappableEngine<TSet>,
  dir: string,
  options: WatchPoliciesOptions<TSet>,
): PolicyWatcher
export function watchPolicies<TSet>(
  engine: SwappableEngine<TSet>,
  dir: string,
  options: Partial<WatchPoliciesOptions<TSet>> = {},
): PolicyWatcher {
  const load = options.load ?? ((path: string) => loadPolicyDirectory(path) as Promise<unknown> as Promise<TSet>)
  if (typeof load !== 'function') throw new ConfigError('reload.load', 'must be a function')
  const debounceMs = options.debounceMs ?? 100
  if (!Number.isFinite(debounceMs) || debounceMs < 0) {
    throw new ConfigError('reload.debounceMs', 'must be a non-negative number')
  }

  let lastEvent: ReloadEvent | undefined
  // Reloads run one at a time. A reload asked for while one runs is queued after it (its changes
  // may not have been read yet); every caller arriving before the queued one starts shares it.
  let tail: Promise<unknown> = Promise.resolve()
  let queued: Promise<ReloadEvent> | undefined
  let closed = false
  let timer: NodeJS.Timeout | undefined

  const attempt = async (): Promise<ReloadEvent> => {
    const previousDigest = engine.policyDigest
    let event: ReloadEvent
    try {
      const set = await load(dir)
      engine.swap(set)
      const at = new Date()
      markPolicyLoaded(engine, at)
      const digest = engine.policyDigest
      event = { ok: true, digest, previousDigest, changed: digest !== previousDigest, at }
    } catch (cause) {
      const error = cause instanceof PolicyError ? cause : toMeshguardError(cause)
      event = { ok: false, error, digest: engine.policyDigest, at: new Date() }
    }
    lastEvent = event
    try {
      options.telemetry?.recordReload(event.ok ? 'success' : 'failure', event.ok ? undefined : event.error.code)
      options.onReload?.(event)
    } catch {
      // An observer must not break reloading.
    }
    return event
  }

  const reload = (): Promise<ReloadEvent> => {
    if (queued) return queued
    const run = tail.then(() => {
      queued = undefined
      return attempt()
    })
    queued = run
    tail = run
    return run
  }

  const schedule = (): void => {
    if (closed) return
    if (timer) clearTimeout(timer)
    timer = setTimeout(() => {
      timer = undefined
      void reload()
    }, debounceMs)
    // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- a stubbed timer may lack unref
    timer.unref?.()
  }

  let watcher: TreeWatch | undefined
  let poller: NodeJS.Timeout | undefined
  const startPolling = (intervalMs: number): void => {
    let signature: Promise<string> = directorySignature(dir).catch(() => '')
    let busy = false
    poller = setInterval(() => {
      if (busy) return
      busy = true
      void (async () => {
        const before = await signature
        const now = await directorySignature(dir).catch(() => '')
        signature = Promise.resolve(now)
        if (now !== before) schedule()
      })().finally(() => {
        busy = false
      })
    }, intervalMs)
    // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- a stubbed timer may lack unref
    poller.unref?.()
  }

  let mode: 'watch' | 'poll' = 'watch'
  if (options.poll) {
    const intervalMs = options.poll === true ? 1000 : options.poll.intervalMs
    if (!Number.isFinite(intervalMs) || intervalMs <= 0) {
      throw new ConfigError('reload.poll.intervalMs', 'must be a positive number')
    }
    mode = 'poll'
    startPolling(intervalMs)
  } else {
    try {
      watcher = watchTree(dir, schedule, () => {
        // The directory went away or the platform gave up on watching: keep serving, poll instead.
        watcher?.close()
        watcher = undefined
        mode = 'poll'
        if (!closed && !poller) startPolling(1000)
      })
    } catch {
      mode = 'poll'
      startPolling(1000)
    }
  }

  return {
    reload,
    get lastEvent() {
      return lastEvent
    },
    get mode() {
      return mode
    },
    async close() {
      closed = true
      if (timer) clearTimeout(timer)
      watcher?.close()
      if (poller) clearInterval(poller)
      await tail
    },
  }
}
