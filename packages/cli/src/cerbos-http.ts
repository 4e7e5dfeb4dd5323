/**
 * The Cerbos HTTP API shapes of CheckResources (`POST /api/check/resources`): reading a request body
 * into engine inputs, and writing engine outputs as the PDP's JSON response, with the same field names
 * and the same omissions (empty strings, empty lists and absent meta are left out).
 */
import { RequestError, type CheckInput, type CheckOutput } from '@meshguard/core'
import { decodeUnverifiedClaims } from './aux-token.js'

/** A parsed request: the engine inputs plus what the response needs. */
export interface HttpCheckRequest {
  requestId: string
  includeMeta: boolean
  inputs: CheckInput[]
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v)

function fail(reason: string, message: string): never {
  throw new RequestError(message, { reason })
}

/** Field names of each message, protobuf JSON style: the lowerCamel name or the proto (snake_case) name. */
const REQUEST_FIELDS = { requestId: 'requestId', request_id: 'requestId', principal: 'principal', resources: 'resources', auxData: 'auxData', aux_data: 'auxData', includeMeta: 'includeMeta', include_meta: 'includeMeta' }
export const PRINCIPAL_FIELDS = { id: 'id', roles: 'roles', attr: 'attr', policyVersion: 'policyVersion', policy_version: 'policyVersion', scope: 'scope' }
const RESOURCE_FIELDS = { kind: 'kind', id: 'id', attr: 'attr', policyVersion: 'policyVersion', policy_version: 'policyVersion', scope: 'scope' }
const ENTRY_FIELDS = { actions: 'actions', resource: 'resource' }
/** `jwts` (named, already-verified tokens) is meshguard's extension of the Cerbos shape. */
const AUX_FIELDS = { jwt: 'jwt', jwts: 'jwts' }
const TOKEN_FIELDS = { token: 'token', keySetId: 'keySetId', key_set_id: 'keySetId' }

/**
 * Renames fields to their lowerCamel names and refuses unknown ones, as the PDP's protobuf JSON reader
 * does. `null` means absent. Anything that is not an object is returned unchanged for the engine to judge.
 */
export function fields(value: unknown, names: Record<string, string>, where: string): unknown {
  if (!isRecord(value)) return value
  const out: Record<string, unknown> = {}
  for (const [key, v] of Object.entries(value)) {
    const name = names[key]
    if (name === undefined) fail('unknown_field', `${where}: unknown field ${JSON.stringify(key)}`)
    if (v !== null) out[name] = v
  }
  return out
}

/** `auxData.jwt` as an HTTP API `{token}` (decoded, see aux-token.ts) or as already-verified claims. */
export function readAuxData(value: unknown): CheckInput['auxData'] {
  if (value === undefined || value === null) return undefined
  if (!isRecord(value)) fail('invalid_aux_data', 'auxData must be an object')
  const aux = fields(value, AUX_FIELDS, 'auxData') as Record<string, unknown>
  let jwt = aux['jwt']
  if (isRecord(jwt) && 'token' in jwt) {
    const { token } = fields(jwt, TOKEN_FIELDS, 'auxData.jwt') as { token?: unknown }
    if (typeof token !== 'string') fail('invalid_aux_data', 'invalid auxData')
    jwt = decodeUnverifiedClaims(token, Math.floor(Date.now() / 1000))
  }
  // The engine validates the claims (objects only).
  return { ...(jwt !== undefined ? { jwt } : {}), ...(aux['jwts'] !== undefined ? { jwts: aux['jwts'] } : {}) } as CheckInput['auxData']
}

/**
 * Reads a CheckResources request body (already JSON-parsed) the way the PDP's HTTP API does: either
 * spelling of each field, unknown fields refused. The engine then validates principals, resources
 * and actions. `auxData.jwt` is either the HTTP API's `{token}` (decoded without signature
 * verification, see aux-token.ts) or already-verified claims.
 *
 * @throws RequestError when the request is malformed
 */
export function readCheckRequest(body: unknown): HttpCheckRequest {
  if (!isRecord(body)) fail('request_not_object', 'request must be a JSON object')
  const { requestId, includeMeta, principal, resources, auxData } = fields(body, REQUEST_FIELDS, 'request') as Record<string, unknown>
  if (requestId !== undefined && typeof requestId !== 'string') fail('invalid_field', 'requestId must be a string')
  if (includeMeta !== undefined && typeof includeMeta !== 'boolean') fail('invalid_field', 'includeMeta must be a boolean')
  if (!Array.isArray(resources) || resources.length === 0) fail('resources_missing', 'resources: value is required')
  const aux = readAuxData(auxData)
  const normalizedPrincipal = fields(principal, PRINCIPAL_FIELDS, 'principal') as CheckInput['principal']
  const inputs = resources.map((raw: unknown, i): CheckInput => {
    if (!isRecord(raw)) fail('resource_missing', `resources[${i}] must be an object`)
    const entry = fields(raw, ENTRY_FIELDS, `resources[${i}]`) as Record<string, unknown>
    return {
      requestId: requestId ?? '',
      principal: normalizedPrincipal,
      resource: fields(entry['resource'], RESOURCE_FIELDS, `resources[${i}].resource`) as CheckInput['resource'],
      actions: entry['actions'] as string[],
      auxData: aux,
    }
  })
  return { requestId: requestId ?? '', includeMeta: includeMeta === true, inputs }
}

/** Protobuf `Struct` JSON lists keys in sorted order; so do we, so outputs compare byte for byte. */
export function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys)
  if (!isRecord(value)) return value
  return Object.fromEntries(byKey(value).map(([k, v]) => [k, sortKeys(v)]))
}

const byKey = <T>(record: Record<string, T>): [string, T][] => Object.entries(record).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))

/** One `results[]` entry exactly as the PDP writes it. */
export function toHttpResult(input: CheckInput, output: CheckOutput, includeMeta: boolean): Record<string, unknown> {
  const { id, kind, policyVersion, scope } = input.resource
  const result: Record<string, unknown> = {
    resource: { id, kind, ...(policyVersion ? { policyVersion } : {}), ...(scope ? { scope } : {}) },
    actions: Object.fromEntries(byKey(output.actions).map(([action, decision]) => [action, decision.effect])),
  }
  if (output.validationErrors.length > 0) {
    result['validationErrors'] = output.validationErrors.map(({ path, message, source }) => ({ path, message, source }))
  }
  if (includeMeta) {
    result['meta'] = {
      actions: Object.fromEntries(
        byKey(output.actions).map(([action, d]) => [action, { matchedPolicy: d.policy, ...(d.scope ? { matchedScope: d.scope } : {}) }]),
      ),
      ...(output.effectiveDerivedRoles.length > 0 ? { effectiveDerivedRoles: output.effectiveDerivedRoles } : {}),
    }
  }
  if (output.outputs.length > 0) {
    result['outputs'] = output.outputs.map((o) =>
      o.error !== undefined ? { src: o.src, action: o.action, error: o.error } : { src: o.src, val: sortKeys(o.val ?? null), action: o.action },
    )
  }
  return result
}

/** The whole response body. */
export function toHttpResponse(request: HttpCheckRequest, outputs: readonly CheckOutput[]): Record<string, unknown> {
  const results = request.inputs.map((input, i) => {
    const output = outputs[i]
    if (output === undefined) throw new RequestError('engine returned fewer results than resources', { reason: 'result_missing' })
    return toHttpResult(input, output, request.includeMeta)
  })
  return { ...(request.requestId ? { requestId: request.requestId } : {}), results }
}
