import { IdentityError } from '../errors.js'
import type { Principal } from '../types.js'
import type { ActorMapping, ActorType, ClaimMappingOptions, WorkloadMapping } from './types.js'

/** Claims that describe the token itself, not the caller; they never become policy attributes. */
const TOKEN_CLAIMS = new Set(['iss', 'sub', 'aud', 'exp', 'nbf', 'iat', 'jti', 'ath', 'act', 'txn', 'cnf', 'may_act'])

/** The attribute type policies see for an AI agent: `request.principal.attr.act.user.attr.type == "AI_AGENT"`. */
export const AI_AGENT_TYPE = 'AI_AGENT'

const AGENT_TYPE_VALUES = new Set(['agent', 'ai_agent'])

function stringList(value: unknown): string[] | undefined {
  if (typeof value === 'string') return value.split(' ').filter((v) => v.length > 0)
  if (Array.isArray(value) && value.every((v) => typeof v === 'string')) return [...(value as string[])]
  return undefined
}

function attributes(claims: Readonly<Record<string, unknown>>, drop: ReadonlySet<string>): Record<string, unknown> {
  const attr: Record<string, unknown> = {}
  for (const [name, value] of Object.entries(claims)) if (!TOKEN_CLAIMS.has(name) && !drop.has(name)) attr[name] = value
  return attr
}

/** Builds the default workload mapping: roles from a claim, else the last SPIFFE path segment. */
export function defaultWorkloadMapping(options: ClaimMappingOptions): (claims: Readonly<Record<string, unknown>>, id: string) => WorkloadMapping {
  const rolesClaim = options.workloadRolesClaim ?? 'roles'
  const drop = new Set([rolesClaim])
  return (claims, id) => {
    const fromClaim = stringList(claims[rolesClaim])
    const roles = fromClaim !== undefined && fromClaim.length > 0 ? fromClaim : [id.slice(id.lastIndexOf('/') + 1)]
    return { roles, attr: attributes(claims, drop) }
  }
}

/**
 * Builds the default actor mapping: id from `sub`; an agent when the type claim says `agent` /
 * `ai_agent`, or when the token is a client-credentials token (`sub` equals `client_id`); agents get
 * `attr.type = "AI_AGENT"` whatever their claims say.
 */
export function defaultActorMapping(options: ClaimMappingOptions): (claims: Readonly<Record<string, unknown>>) => ActorMapping {
  const rolesClaim = options.actorRolesClaim ?? 'roles'
  const typeClaim = options.actorTypeClaim ?? 'actor_type'
  const drop = new Set([rolesClaim, typeClaim])
  return (claims) => {
    const typeValue = claims[typeClaim]
    const isAgent =
      (typeof typeValue === 'string' && AGENT_TYPE_VALUES.has(typeValue.toLowerCase())) ||
      (typeof claims['client_id'] === 'string' && claims['client_id'] === claims['sub'])
    const type: ActorType = isAgent ? 'agent' : 'user'
    const attr = attributes(claims, drop)
    if (isAgent) attr['type'] = AI_AGENT_TYPE
    const roles = stringList(claims[rolesClaim]) ?? []
    return { id: String(claims['sub']), type, roles, attr }
  }
}

/** Runs a (possibly user-supplied) mapping function; a throwing or malformed mapping fails closed. */
export function runMapping<T extends { roles: string[]; attr: Record<string, unknown> }>(map: () => T): T {
  let result: T
  try {
    result = map()
  } catch (err) {
    throw new IdentityError('claim_mapping_failed', 'claim mapping failed', { cause: err })
  }
  const ok =
    typeof result === 'object' &&
    result !== null &&
    Array.isArray(result.roles) &&
    result.roles.every((r) => typeof r === 'string') &&
    typeof result.attr === 'object' &&
    result.attr !== null
  if (!ok) throw new IdentityError('claim_mapping_failed', 'claim mapping returned no roles/attr')
  return result
}

/** The principal shape the seed policies expect: the workload, with the actor under `attr.act.user`. */
export function buildPrincipal(
  workload: { id: string; roles: string[]; attr: Record<string, unknown> },
  actor: { id: string; roles: string[]; attr: Record<string, unknown> } | undefined,
): Principal {
  const attr: Record<string, unknown> = { ...workload.attr }
  if (actor !== undefined) attr['act'] = { user: { id: actor.id, roles: actor.roles, attr: actor.attr } }
  else delete attr['act']
  return { id: workload.id, roles: workload.roles, attr }
}
