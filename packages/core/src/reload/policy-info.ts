import type { DecisionEngine } from '../types.js'

/** What a health/info endpoint reports about the policies a service runs. */
export interface PolicyInfo {
  /** sha256 hex digest of the policy set in force; undefined when the engine cannot know (remote PDP). */
  digest: string | undefined
  /** When the set in force was loaded (ISO-8601), when known. */
  loadedAt: string | undefined
  /** Engine kind. */
  engine: 'embedded' | 'remote'
}

const loadTimes = new WeakMap<object, Date>()

/** Notes when a policy set was put in force on an engine (called by the reload module). */
export function markPolicyLoaded(engine: object, at: Date): void {
  loadTimes.set(engine, at)
}

/**
 * The policy digest, load time and engine kind, for a health/info endpoint, so operators can see
 * which services run which policies.
 *
 * @example
 * ```ts
 * app.get('/healthz/policy', (_req, res) => res.json(policyInfo(engine)))
 * ```
 */
export function policyInfo(engine: DecisionEngine): PolicyInfo {
  const own = (engine as { loadedAt?: unknown }).loadedAt
  const loadedAt = own instanceof Date ? own : loadTimes.get(engine)
  return { digest: engine.policyDigest, loadedAt: loadedAt?.toISOString(), engine: engine.kind }
}
