/**
 * `tctx.user`: the user's roles and attributes as the service's configuration describes them:
 * claims of the subject token it trusts for that, then the lookup hook (a directory or database).
 */
import { refuse } from './errors.js'
import { putOwn } from './plain-data.js'
import type { SubjectInfo, SubjectUserClaims, UserLookup } from './options.js'
import type { TxnTokenUser } from './token-format.js'

const stringList = (value: unknown): string[] | undefined => {
  if (typeof value === 'string') return [value]
  if (Array.isArray(value) && value.every((v) => typeof v === 'string')) return [...value]
  return undefined
}

/** The user as the trusted claims describe them. */
export function userFromClaims(claims: Readonly<Record<string, unknown>>, config: SubjectUserClaims | undefined): TxnTokenUser {
  const rolesClaim = config?.rolesClaim ?? 'roles'
  const roles = (Object.hasOwn(claims, rolesClaim) ? stringList(claims[rolesClaim]) : undefined) ?? []
  const attr = Object.create(null) as Record<string, unknown>
  for (const name of config?.attributeClaims ?? []) {
    if (Object.hasOwn(claims, name)) putOwn(attr, name, structuredClone(claims[name]))
  }
  return { roles, attr }
}

/**
 * Adds what the lookup hook says. Its roles replace the claims' roles; its attributes win over
 * claims of the same name. A failing hook refuses the request (503): the service never issues a
 * token describing the user from half the sources.
 */
export async function completeUser(base: TxnTokenUser, subject: SubjectInfo, lookup: UserLookup | undefined): Promise<TxnTokenUser> {
  if (lookup === undefined) return base
  let found: Partial<TxnTokenUser> | undefined
  try {
    found = await lookup(subject)
  } catch (err) {
    throw refuse.unavailable('user_lookup_failed', 'the user directory is unavailable', err)
  }
  if (found === undefined) return base
  if (typeof found !== 'object' || (found as unknown) === null) throw refuse.unavailable('user_lookup_invalid', 'the user directory gave an unusable answer')
  const roles = found.roles === undefined ? base.roles : stringList(found.roles)
  if (roles === undefined) throw refuse.unavailable('user_lookup_invalid', 'the user directory gave an unusable answer')
  const attr = Object.create(null) as Record<string, unknown>
  for (const [name, value] of Object.entries(base.attr)) putOwn(attr, name, value)
  if (found.attr !== undefined) {
    if (typeof found.attr !== 'object' || (found.attr as unknown) === null) throw refuse.unavailable('user_lookup_invalid', 'the user directory gave an unusable answer')
    for (const [name, value] of Object.entries(found.attr)) putOwn(attr, name, structuredClone(value))
  }
  return { roles, attr }
}
