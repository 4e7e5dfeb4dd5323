/**
 * What both kinds of `init` scaffold share (the plain service's templates.ts and the calling
 * service's caller-templates.ts): the frameworks, the development identities, and the shape of the
 * `document` policy and its test principals.
 */

/** Web frameworks `init` can scaffold. */
export const FRAMEWORKS = ['express', 'fastify', 'nestjs'] as const
export type Framework = (typeof FRAMEWORKS)[number]

/** The trust domain of development identities; `.local` is never a real trust domain. */
export const DEV_TRUST_DOMAIN = 'dev.local'
/** The workload the curl session plays: a service calling this one. */
export const DEV_CALLER = 'caller'
/** The calling workload's key id. */
export const DEV_CALLER_KID = 'caller-1'

export const spiffeId = (name: string): string => `spiffe://${DEV_TRUST_DOMAIN}/ns/default/sa/${name}`

/** A policy of the `document` kind: the calling workload `caller` may read when `match` holds. */
export function documentPolicy(comment: string, match: string): string {
  return `${comment}
apiVersion: api.cerbos.dev/v1
resourcePolicy:
  resource: document
  version: default
  rules:
    - actions: ["read"]
      effect: EFFECT_ALLOW
      roles: ["${DEV_CALLER}"]
      condition:
        match:
${match}`
}

/** A policy-test principal: the development caller acting for `user` with `roles`. */
export const callerFor = (user: string, roles: readonly string[]): string =>
  `    caller_for_${user}:\n      id: ${spiffeId(DEV_CALLER)}\n      roles: ["${DEV_CALLER}"]\n      attr:\n        act:\n          user: { id: ${user}, roles: [${roles.map((r) => `"${r}"`).join(', ')}], attr: {} }\n`
