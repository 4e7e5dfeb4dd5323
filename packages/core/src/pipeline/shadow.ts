/**
 * Shadow (dry-run) policies: a candidate policy set decides every check beside the live one. The
 * live decision is enforced; where the candidate would have decided otherwise, the audit record
 * says so and a metric counts it. Nothing the candidate does (disagree, fail, be missing) changes
 * or delays the live outcome.
 */
import type { AuditShadow, AuditShadowDifference } from '../audit/index.js'
import { ConfigError } from '../errors.js'
import type { CheckResourcesRequest, CheckResourcesResponse, DecisionEngine } from '../types.js'

/** Differences listed per record, at most (a batch may disagree on many pairs; the count is exact in metrics). */
export const MAX_SHADOW_DIFFERENCES = 50

/** The candidate: anything with a synchronous check and a policy digest (the embedded engine). */
export interface ShadowEngine {
  readonly policyDigest?: string | undefined
  checkResourcesSync(request: CheckResourcesRequest): CheckResourcesResponse
}

/** Guard option `shadow`. */
export interface ShadowOptions {
  /**
   * The candidate policy set's engine, or a function returning the current one (`undefined` while
   * there is none, e.g. a candidate directory that does not compile yet). It must answer
   * synchronously (`checkResourcesSync`): the live request never waits for it.
   */
  engine: ShadowEngine | (() => ShadowEngine | undefined)
}

/**
 * @throws ConfigError when `shadow` is malformed
 */
export function checkShadowOptions(shadow: ShadowOptions | undefined): void {
  if (shadow === undefined) return
  const engine = (shadow as Partial<ShadowOptions> | null)?.engine
  const usable = typeof engine === 'function' || typeof (engine as Partial<ShadowEngine> | undefined)?.checkResourcesSync === 'function'
  if (!usable) throw new ConfigError('shadow.engine', 'must be an engine with checkResourcesSync() (the embedded engine), or a function returning one')
}

/** The current candidate of the options. */
export function shadowEngineOf(shadow: ShadowOptions): () => ShadowEngine | undefined {
  const { engine } = shadow
  return typeof engine === 'function' ? engine : () => engine
}

/** Every (resource, action) the candidate decided otherwise, in request order. */
export function shadowDifferences(request: CheckResourcesRequest, live: CheckResourcesResponse, candidate: CheckResourcesResponse): AuditShadowDifference[] {
  const differences: AuditShadowDifference[] = []
  request.resources.forEach((entry, index) => {
    const liveResult = live.results[index]
    const candidateResult = candidate.results[index]
    for (const action of entry.actions) {
      const liveEffect = liveResult?.actions[action]
      const candidateEffect = candidateResult?.actions[action]
      if (liveEffect === undefined || liveEffect === candidateEffect) continue
      const meta = candidateResult?.meta?.actions[action]
      differences.push({
        resource: { kind: entry.resource.kind, id: entry.resource.id },
        action,
        live: liveEffect,
        livePolicy: liveResult?.meta?.actions[action]?.matchedPolicy,
        // A candidate without an answer counts as a denial: that is what enforcing it would give.
        candidate: candidateEffect ?? 'EFFECT_DENY',
        candidatePolicy: meta?.matchedPolicy,
        candidateRule: meta?.matchedRule,
      })
    }
  })
  return differences
}

/**
 * The shadow part of an audit record for one live decision, or `undefined` when the candidate
 * agrees. Throws whatever the candidate throws (the guard reports it and goes on).
 */
export function shadowOf(engine: ShadowEngine, request: CheckResourcesRequest, live: CheckResourcesResponse): { shadow: AuditShadow; all: AuditShadowDifference[] } | undefined {
  const candidate = engine.checkResourcesSync(request)
  const all = shadowDifferences(request, live, candidate)
  if (all.length === 0) return undefined
  return { shadow: { candidateDigest: engine.policyDigest ?? '', differences: all.slice(0, MAX_SHADOW_DIFFERENCES) }, all }
}

/** Whether `engine` is usable as a candidate (for `createMeshguard`, which builds it). */
export function isShadowEngine(engine: DecisionEngine | ShadowEngine): engine is ShadowEngine {
  return typeof (engine as Partial<ShadowEngine>).checkResourcesSync === 'function'
}
