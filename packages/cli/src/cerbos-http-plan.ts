/**
 * The Cerbos HTTP API shapes of PlanResources (`POST /api/plan/resources`): reading a request body
 * into an engine request, and writing the engine's answer as the PDP's JSON response (empty
 * strings, empty lists and empty maps left out, struct keys sorted, as protobuf JSON does).
 */
import { RequestError, type PlanOperand, type PlanResourcesRequest, type PlanResourcesResponse } from '@meshguard/core'
import { fields, PRINCIPAL_FIELDS, readAuxData, sortKeys } from './cerbos-http.js'

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v)

function fail(reason: string, message: string): never {
  throw new RequestError(message, { reason })
}

const REQUEST_FIELDS = {
  requestId: 'requestId',
  request_id: 'requestId',
  action: 'action',
  actions: 'actions',
  principal: 'principal',
  resource: 'resource',
  auxData: 'auxData',
  aux_data: 'auxData',
  includeMeta: 'includeMeta',
  include_meta: 'includeMeta',
}
const RESOURCE_FIELDS = { kind: 'kind', attr: 'attr', policyVersion: 'policyVersion', policy_version: 'policyVersion', scope: 'scope' }

/**
 * Reads a PlanResources request body (already JSON-parsed) the way the PDP's HTTP API does: either
 * spelling of each field, unknown fields refused. The engine validates the rest.
 *
 * @throws RequestError when the request is malformed
 */
export function readPlanRequest(body: unknown): PlanResourcesRequest {
  if (!isRecord(body)) fail('request_not_object', 'request must be a JSON object')
  const { requestId, action, actions, principal, resource, auxData, includeMeta } = fields(body, REQUEST_FIELDS, 'request') as Record<string, unknown>
  if (requestId !== undefined && typeof requestId !== 'string') fail('invalid_field', 'requestId must be a string')
  if (includeMeta !== undefined && typeof includeMeta !== 'boolean') fail('invalid_field', 'includeMeta must be a boolean')
  const hasAction = typeof action === 'string' && action !== ''
  const hasActions = Array.isArray(actions) && actions.length > 0
  if (hasAction === hasActions) fail('invalid_action', "Exactly one of 'action' or 'actions' field must be set")
  return {
    requestId: requestId,
    // eslint-disable-next-line @typescript-eslint/no-deprecated -- Cerbos's single-action form, sent as the request had it
    ...(hasAction ? { action: action } : { actions: actions as string[] }),
    principal: fields(principal, PRINCIPAL_FIELDS, 'principal') as PlanResourcesRequest['principal'],
    resource: fields(resource, RESOURCE_FIELDS, 'resource') as PlanResourcesRequest['resource'],
    auxData: readAuxData(auxData),
    includeMeta: includeMeta === true,
  }
}

/** An operand as protobuf JSON: no empty operand lists, struct keys sorted. */
function operandJson(op: PlanOperand): unknown {
  if ('expression' in op) {
    const { operator, operands } = op.expression
    return { expression: operands.length > 0 ? { operator, operands: operands.map(operandJson) } : { operator } }
  }
  if ('variable' in op) return { variable: op.variable }
  return { value: sortKeys(op.value) }
}

/** The whole response body, as the PDP writes it (without `cerbosCallId`). */
export function toHttpPlanResponse(response: PlanResourcesResponse): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  if (response.requestId) out['requestId'] = response.requestId
  if (response.action !== undefined) out['action'] = response.action
  if (response.actions !== undefined) out['actions'] = response.actions
  out['resourceKind'] = response.resourceKind
  if (response.policyVersion) out['policyVersion'] = response.policyVersion
  const { kind, condition } = response.filter
  out['filter'] = condition === undefined ? { kind } : { kind, condition: operandJson(condition) }
  if (response.meta) {
    const meta: Record<string, unknown> = { filterDebug: response.meta.filterDebug }
    if (response.meta.matchedScope) meta['matchedScope'] = response.meta.matchedScope
    if (response.meta.matchedScopes && Object.keys(response.meta.matchedScopes).length > 0) meta['matchedScopes'] = sortKeys(response.meta.matchedScopes)
    out['meta'] = meta
  }
  if (response.validationErrors.length > 0) out['validationErrors'] = response.validationErrors.map(({ path, message, source }) => ({ path, message, source }))
  return out
}
