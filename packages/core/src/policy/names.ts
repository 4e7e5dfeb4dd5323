/**
 * Policy keys as Cerbos spells them (`resource.<kind>.v<version>[/<scope>]`, ...). These strings are
 * part of every decision's attribution, so they follow Cerbos to the character.
 */

// Names that match the pre-0.30 pattern get non-word characters replaced, as Cerbos still does for
// backward compatibility (`album:object` becomes `album_object`).
const OLD_NAME_PATTERN = /^[A-Za-z][\w@.\-/]*(:[A-Za-z][\w@.\-/]*)*$/
const INVALID_IDENTIFIER_CHARS = /[^\w.]+/g

/** Cerbos' name sanitiser for resource kinds, principal ids, roles and versions. */
export function sanitizeName(name: string): string {
  return OLD_NAME_PATTERN.test(name) ? name.replace(INVALID_IDENTIFIER_CHARS, '_') : name
}

const withScope = (key: string, scope: string): string => (scope === '' ? key : `${key}/${scope}`)

/** `resource.<kind>.v<version>[/<scope>]` */
export function resourcePolicyKey(resource: string, version: string, scope: string): string {
  return withScope(`resource.${sanitizeName(resource)}.v${sanitizeName(version)}`, scope)
}

/** `principal.<id>.v<version>[/<scope>]` */
export function principalPolicyKey(principal: string, version: string, scope: string): string {
  return withScope(`principal.${sanitizeName(principal)}.v${sanitizeName(version)}`, scope)
}

/** `role.<role>.v<version>[/<scope>]` (empty version means `default`) */
export function rolePolicyKey(role: string, version: string, scope: string): string {
  return withScope(`role.${sanitizeName(role)}.v${sanitizeName(version === '' ? 'default' : version)}`, scope)
}

/** `derived_roles.<name>` */
export const derivedRolesKey = (name: string): string => `derived_roles.${sanitizeName(name)}`
/** `export_variables.<name>` */
export const exportVariablesKey = (name: string): string => `export_variables.${sanitizeName(name)}`
/** `export_constants.<name>` */
export const exportConstantsKey = (name: string): string => `export_constants.${sanitizeName(name)}`

/** The parents of a scope, nearest first, ending with the root `""` (`a.b.c` → `a.b`, `a`, `""`). */
export function scopeParents(scope: string): string[] {
  const out: string[] = []
  for (let i = scope.length - 1; i >= 0; i--) {
    if (scope[i] === '.' || i === 0) out.push(scope.slice(0, i))
  }
  return out
}

/** A request or policy scope as the engine uses it: `"."` is the root. */
export function normalizeScope(scope: string | undefined): string {
  if (!scope) return ''
  return scope.startsWith('.') ? scope.slice(1) : scope
}
