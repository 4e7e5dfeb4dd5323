/**
 * The parts of a handler check (`req.meshguard.check`) that are not the pipeline's steps: the
 * request it sends, the answer it returns, and which (resource, action) its audit record names.
 */
import { InternalError, RequestError } from '../errors.js'
import type { CheckResourcesRequest, CheckResourcesResponse, Effect, OutputEntry, Principal, Resource } from '../types.js'
import type { ActionDecision, HandlerCheckResult, ResourceDecisions } from './types.js'

/** More than this many resources or actions in one handler check is refused (a batch, not a scan). */
export const MAX_HANDLER_CHECK_ITEMS = 1000

const asList = <T>(value: T | readonly T[]): readonly T[] => (Array.isArray(value) ? (value as readonly T[]) : [value as T])

/**
 * The CheckResources request of one handler check. Only the shape of the arguments is checked here;
 * the engine validates each resource as it validates any request.
 *
 * @throws RequestError when resources or actions are missing, empty or too many
 */
export function handlerCheckRequest(
  callId: string,
  principal: Principal,
  resources: Resource | readonly Resource[],
  actions: string | readonly string[],
): CheckResourcesRequest {
  const resourceList = asList(resources)
  const actionList = asList(actions)
  if (resourceList.length === 0 || resourceList.length > MAX_HANDLER_CHECK_ITEMS) {
    throw new RequestError(`check() needs 1 to ${MAX_HANDLER_CHECK_ITEMS} resources`, { reason: 'invalid_resources' })
  }
  if (actionList.length === 0 || actionList.length > MAX_HANDLER_CHECK_ITEMS) {
    throw new RequestError(`check() needs 1 to ${MAX_HANDLER_CHECK_ITEMS} actions`, { reason: 'invalid_actions' })
  }
  for (const resource of resourceList) {
    if (typeof resource !== 'object' || (resource as unknown) === null) throw new RequestError('check() resources must be { kind, id, attr? } objects', { reason: 'invalid_resources' })
  }
  for (const action of actionList) {
    if (typeof action !== 'string' || action === '') throw new RequestError('check() actions must be non-empty strings', { reason: 'invalid_actions' })
  }
  const asked = [...actionList]
  return {
    requestId: callId,
    principal,
    resources: resourceList.map((resource) => ({ resource, actions: asked })),
    includeMeta: true,
  }
}

/** The (resource index, action) an audit record names: the first denied pair, else the first pair. */
export interface PrimaryPair {
  readonly index: number
  readonly action: string
  readonly effect: Effect
}

/**
 * Reads the engine's answer into per-action decisions, failing closed on anything but a clear
 * effect for every action asked of every resource.
 *
 * @throws InternalError (`engine_response_invalid`) when an answer is missing
 */
export function handlerCheckResult(
  callId: string,
  request: CheckResourcesRequest,
  response: CheckResourcesResponse,
): { result: HandlerCheckResult; primary: PrimaryPair } {
  const results: ResourceDecisions[] = []
  let primary: PrimaryPair | undefined
  let allowed = true
  request.resources.forEach((entry, index) => {
    const answer = (response.results as typeof response.results | undefined)?.[index] // the engine may be remote: its JSON is checked
    if (answer === undefined || (answer.resource as typeof answer.resource | undefined)?.id !== entry.resource.id) {
      throw new InternalError('engine returned no result for a resource', { reason: 'engine_response_invalid' })
    }
    const actions: Record<string, ActionDecision> = Object.create(null) as Record<string, ActionDecision>
    for (const action of entry.actions) {
      const effect = Object.hasOwn(answer.actions, action) ? answer.actions[action] : undefined
      if (effect !== 'EFFECT_ALLOW' && effect !== 'EFFECT_DENY') {
        throw new InternalError('engine returned no effect for an action', { reason: 'engine_response_invalid' })
      }
      const meta = answer.meta?.actions[action]
      actions[action] = Object.freeze({
        allowed: effect === 'EFFECT_ALLOW',
        effect,
        policy: meta?.matchedPolicy,
        rule: meta?.matchedRule,
        scope: meta?.matchedScope,
      })
      if (effect === 'EFFECT_DENY') allowed = false
      if (primary === undefined || (primary.effect === 'EFFECT_ALLOW' && effect === 'EFFECT_DENY')) primary = { index, action, effect }
    }
    // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- the engine may be remote: its JSON is checked
    const outputs: readonly OutputEntry[] = answer.outputs ?? []
    results.push(Object.freeze({ resource: Object.freeze({ kind: entry.resource.kind, id: entry.resource.id }), actions: Object.freeze(actions), outputs }))
  })
  const frozen = Object.freeze(results)
  const result: HandlerCheckResult = Object.freeze({
    id: callId,
    allowed,
    results: frozen,
    isAllowed(resourceId: string, action: string): boolean {
      const found = frozen.find((r) => r.resource.id === resourceId)
      return found !== undefined && Object.hasOwn(found.actions, action) && found.actions[action]?.allowed === true
    },
  })
  return { result, primary: primary as PrimaryPair }
}
