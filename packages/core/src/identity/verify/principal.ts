import { IdentityError } from '../../errors.js'
import type { Principal } from '../../types.js'
import { bareRecord } from '../../internal/own.js'
import type { ActorType } from '../caller.js'
import { TOKEN_CLAIMS } from '../wire.js'
import type { ActorMapping, ClaimMappingOptions, WorkloadGrant, WorkloadMapping } from './types.js'

/** The attribute type policies see for an AI agent: `request.principal.attr.act.user.attr.type == "AI_AGENT"`. */
export const AI_AGENT_TYPE = 'AI_AGENT'

const AGENT_TYPE_VALUES = new Set(['agent', 'ai_agent'])

function stringList(value: unknown): string[] | undefined {
  if (typeof value === 'string') return value.split(' ').filter((v) => v.length > 0)
  if (Array.isArray(value) && value.every((v) => typeof v === 'string')) return [...value]
  return undefined
}

/** Own, non-token claims (minus `drop`) as a prototype-less attribute object. */
function attributes(claims: Readonly<Record<string, unknown>>, drop: ReadonlySet<string>): Record<string, unknown> {
  const attr = bareRecord()
  for (const name of Object.keys(claims)) if (!TOKEN_CLAIMS.has(name) && !drop.has(name)) attr[name] = claims[name]
  return attr
}

/**
 * The claims of a verified token that an authority asserted: the registered claims that identify the
 * token (`iss`, `sub`, …) and those named in `authoritative`. Everything else is the signer's own say.
 */
export function authoritativeClaims(
  claims: Readonly<Record<string, unknown>>,
  authoritative: ReadonlySet<string> | undefined,
): Record<string, unknown> {
  const out = bareRecord()
  for (const name of Object.keys(claims)) {
    if ((TOKEN_CLAIMS.has(name) && name !== 'act') || authoritative?.has(name) === true) out[name] = claims[name]
  }
  return out
}

/** The role the verified identity itself carries: the last path segment of its SPIFFE ID. */
export function identityRole(id: string): string {
  return id.slice(id.lastIndexOf('/') + 1)
}

/**
 * Builds the default workload mapping. Roles: the identity's own role (last SPIFFE path segment),
 * the roles the callee's trust configuration grants, and the roles claim when an authority asserted
 * it. Attributes: the authority-asserted claims, then the configured attributes (which win).
 * `claims` holds only what an authority asserted: a self-signed token's own claims never get here.
 */
export function defaultWorkloadMapping(options: ClaimMappingOptions): (claims: Readonly<Record<string, unknown>>, id: string, grant: WorkloadGrant) => WorkloadMapping {
  const rolesClaim = options.workloadRolesClaim ?? 'roles'
  const drop = new Set([rolesClaim])
  return (claims, id, grant) => {
    const roles = [identityRole(id)]
    for (const role of [...grant.roles, ...(stringList(claims[rolesClaim]) ?? [])]) if (!roles.includes(role)) roles.push(role)
    const attr = attributes(claims, drop)
    for (const name of Object.keys(grant.attributes)) attr[name] = grant.attributes[name]
    return { roles, attr }
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
    (result as unknown) !== null &&
    Array.isArray(result.roles) &&
    result.roles.every((r) => typeof r === 'string') &&
    typeof result.attr === 'object' &&
    (result.attr as unknown) !== null
  if (!ok) throw new IdentityError('claim_mapping_failed', 'claim mapping returned no roles/attr')
  return result
}

/**
 * The principal shape the seed policies expect: the workload, with the actor under `attr.act.user`
 * (and the issuer that vouched for the actor as `attr.act.user.issuer`), and the Txn-Token's
 * transaction under `attr.txn`. Attribute objects have no
 * prototype and copy own properties only, whatever a (custom) mapping returned.
 */
export function buildPrincipal(
  workload: { id: string; roles: string[]; attr: Record<string, unknown> },
  actor: { id: string; roles: string[]; attr: Record<string, unknown>; issuer: string } | undefined,
  txn?: Readonly<Record<string, unknown>>,
): Principal {
  const attr = bareRecord()
  for (const name of Object.keys(workload.attr)) if (name !== 'act' && name !== 'txn') attr[name] = workload.attr[name]
  if (actor !== undefined) {
    const actorAttr = bareRecord()
    for (const name of Object.keys(actor.attr)) actorAttr[name] = actor.attr[name]
    attr['act'] = { user: { id: actor.id, roles: actor.roles, attr: actorAttr, issuer: actor.issuer } }
  }
  // The transaction a Txn-Token vouches for: only the Txn-Token Service writes `attr.txn`.
  if (txn !== undefined) attr['txn'] = txn
  return { id: workload.id, roles: workload.roles, attr }
}
