/**
 * A candidate policy directory for shadow evaluation. It never stops the service: a candidate that
 * does not compile is reported and left out (the guard then enforces and records as without it),
 * and a reload that does not compile keeps the last good candidate.
 */
import { EmbeddedEngine } from '../engine/index.js'
import type { EmbeddedEngineOptions } from '../engine/index.js'
import { toMeshguardError, type MeshguardError } from '../errors.js'
import type { CompiledPolicySet } from '../policy/index.js'
import { watchPolicies, type PolicyWatcher, type WatchPoliciesOptions } from '../reload/index.js'

/** Options of a candidate policy directory (`createMeshguard({ shadow })`). */
export interface ShadowPoliciesOptions {
  /** The candidate policy directory. */
  policies: string
  /** Reload the candidate on file changes (the last good candidate stays on a bad reload). @defaultValue false */
  watch?: boolean | Partial<WatchPoliciesOptions<CompiledPolicySet>> | undefined
}

/** The candidate in force, if any. */
export interface ShadowPolicies {
  /** The candidate engine, or `undefined` while the directory has never compiled. */
  readonly current: () => EmbeddedEngine | undefined // handed to the guard unbound
  /** The last load or reload failure, until a load succeeds. */
  readonly error: MeshguardError | undefined
  /** Stops watching. */
  close(): Promise<void>
}

/**
 * Loads the candidate (never throws for its policies: failures go to `onError`).
 *
 * @param engineOptions - the live engine's options, so both sets are judged alike
 */
export async function openShadowPolicies(
  options: ShadowPoliciesOptions,
  engineOptions: EmbeddedEngineOptions | undefined,
  onError: (error: MeshguardError) => void,
): Promise<ShadowPolicies> {
  let current: EmbeddedEngine | undefined
  let error: MeshguardError | undefined
  const failed = (err: unknown): void => {
    error = toMeshguardError(err)
    onError(error)
  }
  try {
    current = await EmbeddedEngine.fromDirectory(options.policies, engineOptions)
  } catch (err) {
    failed(err)
  }
  let watcher: PolicyWatcher | undefined
  if (options.watch) {
    const extra = options.watch === true ? {} : options.watch
    const target = {
      // A candidate that failed at start-up begins with its first set that compiles.
      swap(set: CompiledPolicySet): void {
        if (current === undefined) current = new EmbeddedEngine(set, engineOptions)
        else current.swap(set)
        error = undefined
      },
      get policyDigest(): string | undefined {
        return current?.policyDigest
      },
    }
    watcher = watchPolicies(target, options.policies, {
      ...extra,
      onReload: (event) => {
        if (!event.ok) failed(event.error)
        extra.onReload?.(event)
      },
    })
  }
  return {
    current: () => current,
    get error() {
      return error
    },
    close: async () => {
      await watcher?.close()
    },
  }
}
