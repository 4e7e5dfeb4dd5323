/**
 * Request validation: a malformed request is a RequestError, never a decision. The rules follow
 * the Cerbos API (principal id and at least one role, resource kind and id, non-empty unique
 * string actions).
 */
import { RequestError } from '../errors.js'
import type { CheckResourcesRequest, Principal, Resource } from '../types.js'
import type { CheckInput, EngineAuxData } from './types.js'
import { setOwn } from '../internal/own.js'

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v)

/** Whether a short list holds a duplicate (no Set allocation for the usual handful of items). */
function hasDuplicate(items: readonly string[]): boolean {
  if (items.length > 16) return new Set(items).size !== items.length
  for (let i = 1; i < items.length; i++) {
    for (let j = 0; j < i; j++) if (items[i] === items[j]) return true
  }
  return false
}

function allNonEmptyStrings(items: readonly unknown[]): items is string[] {
  for (const item of items) if (typeof item !== 'string' || item === '') return false
  return true
}

function fail(reason: string, message: string): never {
  throw new RequestError(message, { reason })
}

function optionalString(value: unknown, field: string): string | undefined {
  if (value === undefined || value === null) return undefined
  if (typeof value !== 'string') fail('invalid_field', `${field} must be a string`)
  return value
}

// The Cerbos API's patterns for versions and scopes.
const VERSION_PATTERN = /^\w*$/
const SCOPE_PATTERN = /^(|\.|[0-9A-Za-z][-\w]*(\.\w[-\w]*)*)$/

function optionalVersion(value: unknown, field: string): string | undefined {
  const version = optionalString(value, field)
  if (version !== undefined && !VERSION_PATTERN.test(version)) fail('invalid_policy_version', `${field} must contain only letters, digits and underscores`)
  return version
}

function optionalScope(value: unknown, field: string): string | undefined {
  const scope = optionalString(value, field)
  if (scope !== undefined && !SCOPE_PATTERN.test(scope)) fail('invalid_scope', `${field} must be a dotted scope such as "acme.hr"`)
  return scope
}

function attrOf(value: unknown, field: string): Record<string, unknown> {
  if (value === undefined || value === null) return {}
  if (!isRecord(value)) fail('invalid_attr', `${field} must be an object`)
  if ('' in value) fail('invalid_attr', `${field} must not have an empty key`)
  return value
}

/**
 * Normalised principals by the frozen object they came from. The identity cache hands every request
 * of a caller the same deep-frozen principal, so its checks cannot come out differently next time.
 */
const validatedPrincipals = new WeakMap<object, Principal>()

/** Validates and normalises a principal. */
export function validatePrincipal(value: unknown): Principal {
  if (!isRecord(value)) fail('principal_missing', 'principal must be an object')
  if (!Object.isFrozen(value)) return checkPrincipal(value)
  const known = validatedPrincipals.get(value)
  if (known !== undefined) return known
  const principal = checkPrincipal(value)
  if (isFrozenPrincipal(value)) {
    Object.freeze(principal.roles)
    validatedPrincipals.set(value, Object.freeze(principal))
  }
  return principal
}

/** Frozen down to what validation reads: the object, its roles and its attr (keys only). */
function isFrozenPrincipal(value: Record<string, unknown>): boolean {
  return Object.isFrozen(value.roles) && (value.attr === undefined || value.attr === null || Object.isFrozen(value.attr))
}

function checkPrincipal(value: Record<string, unknown>): Principal {
  if (typeof value.id !== 'string' || value.id === '') fail('principal_id_missing', 'principal.id must be a non-empty string')
  const roles = value.roles
  if (!Array.isArray(roles) || roles.length === 0) fail('principal_roles_missing', 'principal.roles must be a non-empty array')
  if (!allNonEmptyStrings(roles)) fail('invalid_role', 'principal.roles must contain non-empty strings')
  if (hasDuplicate(roles)) fail('duplicate_role', 'principal.roles must be unique')
  return {
    id: value.id,
    roles: roles.slice(),
    attr: attrOf(value.attr, 'principal.attr'),
    policyVersion: optionalVersion(value.policyVersion, 'principal.policyVersion'),
    scope: optionalScope(value.scope, 'principal.scope'),
  }
}

/** Validates and normalises a resource. */
export function validateResource(value: unknown, index: number): Resource {
  const at = `resources[${index}].resource`
  if (!isRecord(value)) fail('resource_missing', `${at} must be an object`)
  if (typeof value.kind !== 'string' || value.kind === '') fail('resource_kind_missing', `${at}.kind must be a non-empty string`)
  if (typeof value.id !== 'string' || value.id === '') fail('resource_id_missing', `${at}.id must be a non-empty string`)
  return {
    kind: value.kind,
    id: value.id,
    attr: attrOf(value.attr, `${at}.attr`),
    policyVersion: optionalVersion(value.policyVersion, `${at}.policyVersion`),
    scope: optionalScope(value.scope, `${at}.scope`),
  }
}

/** Validates an action list. */
export function validateActions(value: unknown, at: string): string[] {
  if (!Array.isArray(value) || value.length === 0) fail('actions_missing', `${at} must be a non-empty array`)
  if (!allNonEmptyStrings(value)) fail('invalid_action', `${at} must contain non-empty strings`)
  if (hasDuplicate(value)) fail('duplicate_action', `${at} must be unique`)
  return value.slice()
}

const NO_AUX_DATA: EngineAuxData = Object.freeze({})

/** Validates auxiliary data: claims of one JWT (`jwt`) and/or of named JWTs (`jwts.<name>.claims`). */
export function validateAuxData(value: unknown, at: string): EngineAuxData {
  if (value === undefined || value === null) return NO_AUX_DATA
  if (!isRecord(value)) fail('invalid_aux_data', `${at} must be an object`)
  const out: EngineAuxData = { jwt: attrOf(value.jwt, `${at}.jwt`) }
  if (value.jwts !== undefined && value.jwts !== null) {
    if (!isRecord(value.jwts)) fail('invalid_aux_data', `${at}.jwts must be an object`)
    const jwts: Record<string, { claims: Record<string, unknown> }> = {}
    for (const [name, token] of Object.entries(value.jwts)) {
      if (!isRecord(token)) fail('invalid_aux_data', `${at}.jwts.${name} must be an object`)
      setOwn(jwts, name, { claims: attrOf(token.claims, `${at}.jwts.${name}.claims`) })
    }
    out.jwts = jwts
  }
  return out
}

/**
 * Turns a CheckResources request into engine inputs (one per resource).
 *
 * @throws RequestError (`ERR_AUTHZ_REQUEST_INVALID`) on any malformed field
 */
export function toCheckInputs(request: CheckResourcesRequest): CheckInput[] {
  if (!isRecord(request)) fail('request_missing', 'request must be an object')
  const principal = validatePrincipal(request.principal)
  const requestId = optionalString(request.requestId, 'requestId')
  const auxData = validateAuxData(request.auxData, 'auxData')
  const resources = request.resources as unknown
  if (!Array.isArray(resources) || resources.length === 0) fail('resources_missing', 'resources must be a non-empty array')
  return resources.map((entry: unknown, i) => {
    if (!isRecord(entry)) fail('resource_missing', `resources[${i}] must be an object`)
    return {
      requestId,
      principal,
      resource: validateResource(entry.resource, i),
      actions: validateActions(entry.actions, `resources[${i}].actions`),
      auxData,
    }
  })
}

/**
 * Validates engine-level inputs (used by {@link EmbeddedEngine.checkInputs}).
 *
 * @throws RequestError on any malformed field
 */
export function validateCheckInputs(inputs: readonly unknown[]): CheckInput[] {
  if (!Array.isArray(inputs)) fail('inputs_missing', 'inputs must be an array')
  return inputs.map((input: unknown, i) => {
    if (!isRecord(input)) fail('input_missing', `inputs[${i}] must be an object`)
    return {
      requestId: optionalString(input.requestId, `inputs[${i}].requestId`),
      principal: validatePrincipal(input.principal),
      resource: validateResource(input.resource, i),
      actions: validateActions(input.actions, `inputs[${i}].actions`),
      auxData: validateAuxData(input.auxData, `inputs[${i}].auxData`),
    }
  })
}
