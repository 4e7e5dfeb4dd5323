/**
 * Route claim requirements: declarative conditions on the verified actor's claims (`acr`, `amr`,
 * `tenant`, …), checked after verification and before the policy. Checked once when the route is
 * registered; per request only the compiled list is walked. Claims come from verified tokens only:
 * the access (actor) token's claims, or the actor context a Txn-Token carries (`tctx.user.attr`).
 */
import { ConfigError, DeniedError, IdentityError } from '../errors.js'
import { isEdgeCaller, tokenSchemeOf } from '../identity/verify/edge-caller.js'
import type { ClaimRequirement, ClaimsRequirement, ClaimValue, VerifiedCallerLike } from './types.js'

/** One compiled requirement. */
interface CompiledClaim {
  readonly name: string
  readonly kind: 'oneOf' | 'includes' | 'maxAge'
  /** The accepted values (`oneOf`) or the values that must be present (`includes`). */
  readonly values: readonly ClaimValue[]
  /** Seconds, for `maxAge`. */
  readonly maxAge: number
}

/** Compiled requirements, by the frozen requirement object a compiled route carries. */
const compiledClaims = new WeakMap<ClaimsRequirement, readonly CompiledClaim[]>()

/** The route needs claims the verified actor does not have (403, reason `insufficient_claims`). */
export class InsufficientClaimsError extends DeniedError {
  /** The names of the claims that did not meet the route's requirements. */
  readonly unmetClaims: readonly string[]
  /** The scheme of the request's token, which the challenge names (`DPoP` for a DPoP-bound access token). */
  readonly scheme: 'Bearer' | 'DPoP'
  constructor(unmet: readonly string[], scheme: 'Bearer' | 'DPoP' = 'Bearer') {
    super('the verified claims do not meet this route’s requirements', { reason: 'insufficient_claims' })
    this.unmetClaims = unmet
    this.scheme = scheme
  }
}

/**
 * The user must authenticate again, more strongly or more recently (RFC 9470): 401, reason
 * `insufficient_user_authentication`, with `acr_values` / `max_age` in the challenge.
 */
export class InsufficientUserAuthenticationError extends IdentityError {
  /** The authentication context classes that would satisfy the route, when `acr` failed. */
  readonly acrValues: readonly string[] | undefined
  /** The largest accepted authentication age in seconds, when `auth_time` failed. */
  readonly maxAge: number | undefined
  /** The scheme of the request's token, which the challenge names (`DPoP` for a DPoP-bound access token). */
  readonly scheme: 'Bearer' | 'DPoP'
  constructor(acrValues: readonly string[] | undefined, maxAge: number | undefined, scheme: 'Bearer' | 'DPoP' = 'Bearer') {
    super('insufficient_user_authentication', 'the user must authenticate again to meet this route’s requirements', { tokenKind: 'actor' })
    this.acrValues = acrValues
    this.maxAge = maxAge
    this.scheme = scheme
  }
}

const isScalar = (value: unknown): value is ClaimValue =>
  typeof value === 'string' || typeof value === 'boolean' || (typeof value === 'number' && Number.isFinite(value))

function scalarList(value: unknown, option: string): readonly ClaimValue[] {
  const list = Array.isArray(value) ? (value as unknown[]) : [value]
  if (list.length === 0 || !list.every(isScalar)) throw new ConfigError(option, 'must be a string, number or boolean, or a non-empty list of them')
  return Object.freeze([...list])
}

function compileOne(name: string, requirement: unknown, option: string): CompiledClaim {
  if (typeof requirement === 'object' && requirement !== null && !Array.isArray(requirement)) {
    const keys = Object.keys(requirement)
    if (keys.length === 1 && keys[0] === 'includes') {
      if (name === 'acr') throw new ConfigError(option, 'acr is a single value: name the accepted values (a value or a list)')
      return { name, kind: 'includes', values: scalarList((requirement as { includes: unknown }).includes, `${option}.includes`), maxAge: 0 }
    }
    if (keys.length === 1 && keys[0] === 'maxAge') {
      const maxAge = (requirement as { maxAge: unknown }).maxAge
      if (name !== 'auth_time') throw new ConfigError(option, 'maxAge applies to auth_time only')
      if (typeof maxAge !== 'number' || !Number.isInteger(maxAge) || maxAge < 0) throw new ConfigError(`${option}.maxAge`, 'must be a whole number of seconds ≥ 0')
      return { name, kind: 'maxAge', values: [], maxAge }
    }
    throw new ConfigError(option, 'must be a value, a list of values, { includes } or (auth_time) { maxAge }')
  }
  if (name === 'auth_time') throw new ConfigError(option, 'auth_time takes { maxAge: seconds }')
  return { name, kind: 'oneOf', values: scalarList(requirement, option), maxAge: 0 }
}

/**
 * Checks a route's `claims` setting.
 *
 * @returns the requirements frozen (the object compiled routes carry), or undefined when the route has none
 * @throws ConfigError naming the bad requirement (`authorize().claims.amr`)
 */
export function compileClaims(claims: unknown, option: string): ClaimsRequirement | undefined {
  if (claims === undefined) return undefined
  if (compiledClaims.has(claims as ClaimsRequirement)) return claims as ClaimsRequirement
  if (typeof claims !== 'object' || claims === null || Array.isArray(claims)) throw new ConfigError(option, 'must be an object of claim requirements')
  const names = Object.keys(claims)
  if (names.length === 0) throw new ConfigError(option, 'must name at least one claim')
  const list: CompiledClaim[] = []
  const declared: Record<string, ClaimRequirement> = Object.create(null) as Record<string, ClaimRequirement>
  for (const name of names) {
    if (name === '' || name === '__proto__') throw new ConfigError(option, `has an unusable claim name ${JSON.stringify(name)}`)
    const requirement = (claims as Record<string, unknown>)[name]
    const compiled = Object.freeze(compileOne(name, requirement, `${option}.${name}`))
    list.push(compiled)
    declared[name] = compiled.kind === 'oneOf' ? (compiled.values.length === 1 ? compiled.values[0]! : compiled.values) : compiled.kind === 'includes' ? Object.freeze({ includes: compiled.values }) : Object.freeze({ maxAge: compiled.maxAge })
  }
  const frozen = Object.freeze(declared)
  compiledClaims.set(frozen, Object.freeze(list))
  return frozen
}

/**
 * The verified claims a route's requirements are checked against: the actor (access) token's claims,
 * or for a Txn-Token the actor context the Txn-Token Service vouches for (`tctx.user.attr`). Never
 * anything the request says about itself outside a verified token.
 */
function verifiedClaimsOf(caller: VerifiedCallerLike): Readonly<Record<string, unknown>> | undefined {
  const { actor, txn } = caller as { actor?: { claims?: Readonly<Record<string, unknown>>; attr?: Readonly<Record<string, unknown>> }; txn?: unknown }
  if (actor === undefined) return undefined
  // At the edge the actor is the access token's even after the exchange; inner Txn-Token hops have only tctx.
  return txn !== undefined && !isEdgeCaller(caller) ? actor.attr : actor.claims
}

function own(claims: Readonly<Record<string, unknown>> | undefined, name: string): unknown {
  return claims !== undefined && Object.hasOwn(claims, name) ? claims[name] : undefined
}

function holds(requirement: CompiledClaim, value: unknown, nowMs: number): boolean {
  switch (requirement.kind) {
    case 'oneOf':
      return isScalar(value) && requirement.values.includes(value)
    case 'includes':
      return Array.isArray(value) && requirement.values.every((v) => value.includes(v))
    case 'maxAge':
      return typeof value === 'number' && Number.isFinite(value) && nowMs / 1000 - value <= requirement.maxAge
  }
}

/**
 * Whether the caller's verified claims meet the route's requirements.
 *
 * @throws InsufficientClaimsError (403) when a claim other than `acr`/`auth_time` fails;
 *   InsufficientUserAuthenticationError (401, RFC 9470) when only `acr` or `auth_time` fail
 */
export function checkClaims(caller: VerifiedCallerLike, required: ClaimsRequirement | undefined, nowMs: number): void {
  if (required === undefined) return
  // A route that skipped registration is compiled now: a bad requirement then fails closed (500).
  const list = compiledClaims.get(required) ?? compiledClaims.get(compileClaims(required, 'route.claims')!)!
  const claims = verifiedClaimsOf(caller)
  let unmet: string[] | undefined
  let acrValues: readonly string[] | undefined
  let maxAge: number | undefined
  for (const requirement of list) {
    if (holds(requirement, own(claims, requirement.name), nowMs)) continue
    if (requirement.name === 'acr') acrValues = requirement.values.map(String)
    else if (requirement.kind === 'maxAge') maxAge = requirement.maxAge
    else (unmet ??= []).push(requirement.name)
  }
  // Authenticating again cannot fix a claim such as a tenant: that refusal comes first.
  if (unmet !== undefined) throw new InsufficientClaimsError(unmet, tokenSchemeOf(caller))
  if (acrValues !== undefined || maxAge !== undefined) throw new InsufficientUserAuthenticationError(acrValues, maxAge, tokenSchemeOf(caller))
}
