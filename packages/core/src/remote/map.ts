import { UnavailableError } from '../errors.js'
import type {
  CheckResourceResult,
  CheckResourcesRequest,
  CheckResourcesResponse,
  Effect,
  ValidationErrorSource,
} from '../types.js'

/**
 * The Cerbos SDK request shape (`@cerbos/core` `CheckResourcesRequest`) that meshguard produces.
 * Written out structurally so core's public types never import `@cerbos/*`.
 */
export interface CerbosCheckResourcesRequest {
  requestId?: string | undefined
  principal: {
    id: string
    roles: string[]
    attr?: Record<string, unknown> | undefined
    policyVersion?: string | undefined
    scope?: string | undefined
  }
  resources: {
    resource: {
      kind: string
      id: string
      attr?: Record<string, unknown> | undefined
      policyVersion?: string | undefined
      scope?: string | undefined
    }
    actions: string[]
  }[]
  includeMetadata?: boolean | undefined
}

/** The parts of the Cerbos SDK `CheckResourcesResponse` meshguard reads. */
export interface CerbosCheckResourcesResponse {
  requestId: string
  cerbosCallId?: string | undefined
  results: {
    resource: { kind: string; id: string; policyVersion: string; scope: string }
    actions: Record<string, string>
    validationErrors: { path: string; message: string; source: string }[]
    metadata?:
      | { actions: Record<string, { matchedPolicy: string; matchedScope: string }>; effectiveDerivedRoles: string[] }
      | undefined
    outputs: { action?: string; source: string; value: unknown }[]
  }[]
}

const invalid = (detail: string): UnavailableError =>
  new UnavailableError('pdp_invalid_response', `the policy decision point sent an unusable answer: ${detail}`)

const definedOnly = <T extends object>(value: T): T =>
  Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T

/** Our request → the Cerbos SDK request (auxData is handled by the caller). */
export function toCerbosRequest(request: CheckResourcesRequest): CerbosCheckResourcesRequest {
  const { principal } = request
  return definedOnly({
    requestId: request.requestId,
    includeMetadata: request.includeMeta === true ? true : undefined,
    principal: definedOnly({
      id: principal.id,
      roles: [...principal.roles],
      attr: principal.attr,
      policyVersion: principal.policyVersion,
      scope: principal.scope,
    }),
    resources: request.resources.map(({ resource, actions }) => ({
      actions: [...actions],
      resource: definedOnly({
        kind: resource.kind,
        id: resource.id,
        attr: resource.attr,
        policyVersion: resource.policyVersion,
        scope: resource.scope,
      }),
    })),
  })
}

const toEffect = (value: string | undefined, action: string): Effect => {
  if (value === 'EFFECT_ALLOW' || value === 'EFFECT_DENY') return value
  throw invalid(`no effect for action "${action}"`)
}

const toSource = (value: string): ValidationErrorSource =>
  value === 'SOURCE_PRINCIPAL' ? 'SOURCE_PRINCIPAL' : 'SOURCE_RESOURCE'

/**
 * The Cerbos SDK response → ours. Checks that the PDP answered every requested action on every
 * requested resource with a known effect: a partial or odd answer is an error, never an allow.
 */
export function fromCerbosResponse(
  request: CheckResourcesRequest,
  response: CerbosCheckResourcesResponse,
): CheckResourcesResponse {
  if (!Array.isArray(response.results) || response.results.length !== request.resources.length) {
    throw invalid('result count does not match the request')
  }
  const results: CheckResourceResult[] = request.resources.map((entry, index) => {
    const result = response.results[index]
    if (!result || result.resource.id !== entry.resource.id || result.resource.kind !== entry.resource.kind) {
      throw invalid(`result ${index} does not match resource ${entry.resource.kind}/${entry.resource.id}`)
    }
    const actions: Record<string, Effect> = {}
    for (const action of entry.actions) actions[action] = toEffect(result.actions[action], action)
    const mapped: CheckResourceResult = {
      resource: { ...result.resource },
      actions,
      validationErrors: result.validationErrors.map((error) => ({
        path: error.path,
        message: error.message,
        source: toSource(error.source),
      })),
      outputs: result.outputs.map((output) => ({ src: output.source, val: output.value })),
    }
    if (result.metadata) {
      mapped.meta = {
        actions: Object.fromEntries(
          Object.entries(result.metadata.actions).map(([action, meta]) => [
            action,
            { matchedPolicy: meta.matchedPolicy, matchedScope: meta.matchedScope },
          ]),
        ),
        effectiveDerivedRoles: [...result.metadata.effectiveDerivedRoles],
      }
    }
    return mapped
  })
  return { requestId: response.requestId, results }
}
