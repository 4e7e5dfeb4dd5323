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

/**
 * Reads a CheckResources request body (already JSON-parsed). Only the envelope is checked here;
 * the engine validates principals, resources and actions. `auxData.jwt` is either the HTTP API's
 * `{token}` (decoded without signature verification, see aux-token.ts) or already-verified claims.
 *
 * @throws RequestError when the envelope is malformed
 */
export function readCheckRequest(body: unknown): HttpCheckRequest {
  if (!isRecord(body)) fail('request_not_object', 'request must be a JSON object')
  const { requestId, includeMeta, principal, resources, auxData } = body
  if (requestId !== undefined && typeof requestId !== 'string') fail('invalid_field', 'requestId must be a string')
  if (includeMeta !== undefined && typeof includeMeta !== 'boolean') fail('invalid_field', 'includeMeta must be a boolean')
  if (!Array.isArray(resources) || resources.length === 0) fail('resources_missing', 'resources: value is required')
  if (auxData !== undefined && auxData !== null && !isRecord(auxData)) fail('invalid_aux_data', 'auxData must be an object')
  let jwt = isRecord(auxData) ? auxData['jwt'] : undefined
  const jwts = isRecord(auxData) ? auxData['jwts'] : undefined
  if (isRecord(jwt) && 'token' in jwt) {
    // The HTTP API shape: a raw token (plus an optional keySetId, which the CLI has no use for).
    if (typeof jwt['token'] !== 'string') fail('invalid_aux_data', 'invalid auxData')
    jwt = decodeUnverifiedClaims(jwt['token'], Math.floor(Date.now() / 1000))
  }
  const inputs = resources.map((entry: unknown, i): CheckInput => {
    if (!isRecord(entry)) fail('resource_missing', `resources[${i}] must be an object`)
    return {
      requestId: requestId ?? '',
      principal: principal as CheckInput['principal'],
      resource: entry['resource'] as CheckInput['resource'],
      actions: entry['actions'] as string[],
      // Verified claims only: one token (`jwt`) and/or named tokens (`jwts.<name>.claims`); the engine validates them.
      auxData: isRecord(auxData) ? ({ ...(jwt !== undefined ? { jwt } : {}), ...(jwts !== undefined ? { jwts } : {}) } as CheckInput['auxData']) : undefined,
    }
  })
  return { requestId: requestId ?? '', includeMeta: includeMeta === true, inputs }
}

/** Protobuf `Struct` JSON lists keys in sorted order; so do we, so outputs compare byte for byte. */
function sortKeys(value: unknown): unknown {
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
