/**
 * Route claim requirements in the contract: `/claimed/:id` needs a listed tenant and `mfa` among the
 * authentication methods, `/step-up/:id` a recent multi-factor login. Claims count only from a
 * verified actor token or a Txn-Token's actor context (`tctx.user.attr`), never from another token or
 * a header. Every adapter must give exactly these answers.
 */
import { DEFAULT_ACTOR_HEADER } from '@meshguard/core'
import type { IdentityFixture } from '../support/identity.js'
import { userContext } from '../support/txn-tokens.js'
import { allowed, SERVICE, type ContractCase } from './contract.js'
import { txnHop } from './txn-cases.js'

/** The 403 challenge of unmet claims: RFC 6750 names no finer error than `insufficient_scope`. */
export const CLAIMS_CHALLENGE = `Bearer realm="${SERVICE}", error="insufficient_scope", error_description="required claims are missing"`

/** The RFC 9470 step-up challenge, with the parameters that would satisfy the route. */
export const stepUpChallenge = (params: string): string =>
  `Bearer realm="${SERVICE}", error="insufficient_user_authentication", error_description="a stronger or more recent authentication is required", ${params}`

const now = (): number => Math.floor(Date.now() / 1000)

/** Headers of employee-service acting for alice with an actor token carrying `claims` (and the workload token `workloadClaims`). */
async function withActorClaims(ids: IdentityFixture, claims: Record<string, unknown>, workloadClaims: Record<string, unknown> = {}): Promise<[string, string][]> {
  const actor = await ids.mintActorToken('alice', { claims })
  const workload = await ids.mintWorkloadToken('employee-service', { audience: SERVICE, actorToken: actor, claims: workloadClaims })
  return [['authorization', `Bearer ${workload}`], [DEFAULT_ACTOR_HEADER, actor]]
}

const MET = { tenant: 'acme', amr: ['pwd', 'mfa'] }

/** The claims table. */
export const CLAIMS_CASES: readonly ContractCase[] = [
  { name: 'claims: an actor token with a listed tenant and mfa', method: 'GET', path: '/claimed/r-eng', headers: (ids) => withActorClaims(ids, MET), status: 200, answer: allowed('alice') },
  {
    name: 'claims: a tenant the route does not list',
    method: 'GET',
    path: '/claimed/r-eng',
    headers: (ids) => withActorClaims(ids, { ...MET, tenant: 'initech' }),
    status: 403,
    reason: 'insufficient_claims',
    wwwAuthenticate: CLAIMS_CHALLENGE,
  },
  {
    name: 'claims: authentication methods without mfa',
    method: 'GET',
    path: '/claimed/r-eng',
    headers: (ids) => withActorClaims(ids, { ...MET, amr: ['pwd'] }),
    status: 403,
    reason: 'insufficient_claims',
    wwwAuthenticate: CLAIMS_CHALLENGE,
  },
  {
    name: 'claims: amr as a string is not a list that includes mfa',
    method: 'GET',
    path: '/claimed/r-eng',
    headers: (ids) => withActorClaims(ids, { ...MET, amr: 'mfa' }),
    status: 403,
    reason: 'insufficient_claims',
    wwwAuthenticate: CLAIMS_CHALLENGE,
  },
  {
    name: 'claims: the workload token and a header say so, the actor token does not',
    method: 'GET',
    path: '/claimed/r-eng',
    headers: async (ids) => [...(await withActorClaims(ids, {}, MET)), ['x-tenant', 'acme'], ['x-amr', 'mfa']],
    status: 403,
    reason: 'insufficient_claims',
    wwwAuthenticate: CLAIMS_CHALLENGE,
  },
  {
    name: 'claims: a Txn-Token whose actor context holds them',
    method: 'GET',
    path: '/claimed/r-eng',
    headers: (ids) => {
      const tctx = userContext('alice') as { user: { attr: Record<string, unknown> } }
      return txnHop(ids, 'employee-service', 'alice', { tctx: { user: { ...tctx.user, attr: { ...tctx.user.attr, ...MET } } } })
    },
    status: 200,
    answer: allowed('alice'),
  },
  {
    name: 'claims: a Txn-Token with them beside its actor context, not in it',
    method: 'GET',
    path: '/claimed/r-eng',
    headers: (ids) => txnHop(ids, 'employee-service', 'alice', { claims: MET }),
    status: 403,
    reason: 'insufficient_claims',
    wwwAuthenticate: CLAIMS_CHALLENGE,
  },
  {
    name: 'step-up: a recent multi-factor login',
    method: 'GET',
    path: '/step-up/r-eng',
    headers: (ids) => withActorClaims(ids, { acr: 'urn:example:mfa', auth_time: now() - 60 }),
    status: 200,
    answer: allowed('alice'),
  },
  {
    name: 'step-up: a password login asks for the MFA class (RFC 9470)',
    method: 'GET',
    path: '/step-up/r-eng',
    headers: (ids) => withActorClaims(ids, { acr: 'urn:example:pwd', auth_time: now() - 60 }),
    status: 401,
    reason: 'insufficient_user_authentication',
    tokenKind: 'actor',
    wwwAuthenticate: stepUpChallenge('acr_values="urn:example:mfa"'),
  },
  {
    name: 'step-up: an MFA login too long ago asks for a fresh one (max_age)',
    method: 'GET',
    path: '/step-up/r-eng',
    headers: (ids) => withActorClaims(ids, { acr: 'urn:example:mfa', auth_time: now() - 3600 }),
    status: 401,
    reason: 'insufficient_user_authentication',
    tokenKind: 'actor',
    wwwAuthenticate: stepUpChallenge('max_age="300"'),
  },
  {
    name: 'step-up: neither acr nor auth_time asks for both',
    method: 'GET',
    path: '/step-up/r-eng',
    headers: (ids) => withActorClaims(ids, {}),
    status: 401,
    reason: 'insufficient_user_authentication',
    tokenKind: 'actor',
    wwwAuthenticate: stepUpChallenge('acr_values="urn:example:mfa", max_age="300"'),
  },
]
