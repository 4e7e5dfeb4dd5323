/**
 * Validation of PlanResources requests (Cerbos's rules: a principal with an id and roles, a
 * resource kind, at least one unique non-empty action, `action` and `actions` not both).
 */
import { RequestError } from '../../errors.js'
import { validateActions, validateAuxData, validatePrincipal } from '../request.js'
import type { PlanInput } from './planner.js'
import type { PlanResourcesRequest } from './types.js'

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v)

function fail(reason: string, message: string): never {
  throw new RequestError(message, { reason })
}

const VERSION_PATTERN = /^\w*$/
const SCOPE_PATTERN = /^(|\.|[0-9A-Za-z][-\w]*(\.\w[-\w]*)*)$/

function optionalText(value: unknown, field: string, pattern: RegExp, reason: string): string {
  if (value === undefined || value === null) return ''
  if (typeof value !== 'string' || !pattern.test(value)) fail(reason, `${field} is not valid`)
  return value
}

/** Known resource attributes as a prototype-less copy (own properties only). */
function attrOf(value: unknown): Record<string, unknown> {
  if (value === undefined || value === null) return Object.create(null) as Record<string, unknown>
  if (!isRecord(value)) fail('invalid_attr', 'resource.attr must be an object')
  const out = Object.create(null) as Record<string, unknown>
  for (const key of Object.keys(value)) {
    if (key === '') fail('invalid_attr', 'resource.attr must not have an empty key')
    out[key] = value[key]
  }
  return out
}

/** The validated input and the request's single-action form, if it used one. */
export interface ValidatedPlanRequest {
  readonly input: PlanInput
  readonly requestId: string
  readonly singleAction: string | undefined
  readonly includeMeta: boolean
}

/**
 * Validates a PlanResources request.
 *
 * @throws RequestError (`ERR_AUTHZ_REQUEST_INVALID`) on any malformed field
 */
export function validatePlanRequest(request: PlanResourcesRequest): ValidatedPlanRequest {
  if (!isRecord(request)) fail('request_missing', 'request must be an object')
  const principal = validatePrincipal(request.principal)
  const resource = request.resource as unknown
  if (!isRecord(resource)) fail('resource_missing', 'resource must be an object')
  if (typeof resource.kind !== 'string' || resource.kind === '') fail('resource_kind_missing', 'resource.kind must be a non-empty string')
  // eslint-disable-next-line @typescript-eslint/no-deprecated -- validating the deprecated form is how it stays supported
  const single = request.action
  if (single !== undefined && (single as unknown) !== null && single !== '') {
    if (typeof single !== 'string') fail('invalid_action', 'action must be a string')
    if (request.actions !== undefined && (request.actions as unknown) !== null && (request.actions as unknown[]).length > 0) fail('invalid_action', 'give either action or actions, not both')
  }
  const singleAction = typeof single === 'string' && single !== '' ? single : undefined
  const actions = singleAction !== undefined ? [singleAction] : validateActions(request.actions, 'actions')
  const requestId = request.requestId
  if (requestId !== undefined && (requestId as unknown) !== null && typeof requestId !== 'string') fail('invalid_field', 'requestId must be a string')
  return {
    input: {
      principal,
      resource: {
        kind: resource.kind,
        attr: attrOf(resource.attr),
        policyVersion: optionalText(resource.policyVersion, 'resource.policyVersion', VERSION_PATTERN, 'invalid_policy_version'),
        scope: optionalText(resource.scope, 'resource.scope', SCOPE_PATTERN, 'invalid_scope'),
      },
      actions,
      auxData: validateAuxData(request.auxData, 'auxData'),
    },
    requestId: typeof requestId === 'string' ? requestId : '',
    singleAction,
    includeMeta: request.includeMeta === true,
  }
}
