/**
 * The contract in Txn-Token mode: the same decisions as the access-token table, with the user's
 * context carried by a Txn-Token bound to the workload token, plus the Txn-Token refusals and route
 * scopes in both modes. Every adapter must give exactly these answers too.
 */
import { DEFAULT_ACTOR_HEADER } from '@meshguard/core'
import type { IdentityFixture } from '../support/identity.js'
import { createTxnTokenFixture, userContext, type TxnTokenFixture, type TxnTokenSpec } from '../support/txn-tokens.js'
import { allowed, duplicated, SERVICE, type ContractCase } from './contract.js'

const fixtures = new WeakMap<IdentityFixture, TxnTokenFixture>()

/** The Txn-Token Service fixture of an identity fixture (one per fixture, so the guard and the cases agree). */
export function txnTokensFor(ids: IdentityFixture): TxnTokenFixture {
  let tts = fixtures.get(ids)
  if (tts === undefined) {
    tts = createTxnTokenFixture(ids)
    fixtures.set(ids, tts)
  }
  return tts
}

/** A fixture user. */
export type User = 'alice' | 'hana' | 'ed'

/** Headers of a hop from `from` carrying a Txn-Token for `user` (or as `spec` says), bound to the workload token. */
export const txnHop = async (ids: IdentityFixture, from: string, user: User, spec: TxnTokenSpec = {}): Promise<[string, string][]> => {
  const tts = txnTokensFor(ids)
  const txnToken = await tts.mint({ sub: user, tctx: userContext(user), ...spec })
  return Object.entries(await tts.headers({ from, to: SERVICE, txnToken }))
}

const SCOPE_CHALLENGE = `Bearer realm="${SERVICE}", error="insufficient_scope", scope="review.read"`

/** The Txn-Token table. */
export const TXN_TOKEN_CASES: readonly ContractCase[] = [
  { name: 'txn-token: allowed: manager reads a review of her department', method: 'GET', path: '/reviews/r-eng', headers: (ids) => txnHop(ids, 'employee-service', 'alice'), status: 200, answer: allowed('alice') },
  { name: 'txn-token: allowed: HR reads any review', method: 'GET', path: '/reviews/r-people', headers: (ids) => txnHop(ids, 'employee-service', 'hana'), status: 200, answer: allowed('hana') },
  { name: 'txn-token: denied: manager of another department', method: 'GET', path: '/reviews/r-people', headers: (ids) => txnHop(ids, 'employee-service', 'alice'), status: 403, reason: 'denied' },
  { name: 'txn-token: denied: employee without a manager role', method: 'GET', path: '/reviews/r-eng', headers: (ids) => txnHop(ids, 'employee-service', 'ed'), status: 403, reason: 'denied' },
  {
    name: 'txn-token: list: a manager gets her department only',
    method: 'GET',
    path: '/reviews',
    headers: (ids) => txnHop(ids, 'employee-service', 'alice'),
    status: 200,
    answer: { ...allowed('alice'), policy: null, planKind: 'KIND_CONDITIONAL', reviews: ['r-eng'] },
  },
  {
    name: 'txn-token: expired Txn-Token replayed',
    method: 'GET',
    path: '/reviews/r-eng',
    headers: (ids) => txnHop(ids, 'employee-service', 'alice', { now: Math.floor(Date.now() / 1000) - 900 }),
    status: 401,
    reason: 'txn_token_expired',
    tokenKind: 'actor',
  },
  {
    name: 'txn-token: Txn-Token of another transaction spliced onto a workload token',
    method: 'GET',
    path: '/reviews/r-eng',
    headers: async (ids) => {
      const theirs = await txnHop(ids, 'employee-service', 'ed')
      const mine = await txnTokensFor(ids).mint({ sub: 'hana', tctx: userContext('hana') })
      return theirs.map(([name, value]) => [name, name === 'txn-token' ? mine : value])
    },
    status: 401,
    reason: 'txn_token_unbound',
    tokenKind: 'actor',
  },
  {
    name: 'txn-token: Txn-Token for another trust domain',
    method: 'GET',
    path: '/reviews/r-eng',
    headers: (ids) => txnHop(ids, 'employee-service', 'alice', { aud: 'partner.example' }),
    status: 401,
    reason: 'txn_token_aud',
    tokenKind: 'actor',
  },
  {
    name: 'txn-token: workload token bound to a Txn-Token that was stripped',
    method: 'GET',
    // A route that needs no actor: the stripped binding itself is what gets judged.
    path: '/me',
    headers: async (ids) => (await txnHop(ids, 'employee-service', 'alice')).filter(([name]) => name !== 'txn-token'),
    status: 401,
    reason: 'txn_token_missing',
    tokenKind: 'actor',
  },
  {
    name: 'txn-token: access token sent beside the Txn-Token',
    method: 'GET',
    path: '/reviews/r-eng',
    headers: async (ids) => [...(await txnHop(ids, 'employee-service', 'alice')), [DEFAULT_ACTOR_HEADER, await ids.mintActorToken('alice')]],
    status: 401,
    reason: 'txn_token_conflict',
    tokenKind: 'actor',
  },
  {
    name: 'txn-token: duplicate Txn-Token header',
    method: 'GET',
    path: '/reviews/r-eng',
    headers: async (ids) => duplicated(await txnHop(ids, 'employee-service', 'alice'), 'txn-token'),
    status: 401,
    reason: 'duplicate_header',
    tokenKind: 'actor',
  },
  { name: 'scope: a Txn-Token holding the route scope', method: 'GET', path: '/scoped/r-eng', headers: (ids) => txnHop(ids, 'employee-service', 'alice'), status: 200, answer: allowed('alice') },
  {
    name: 'scope: a Txn-Token issued for another purpose',
    method: 'GET',
    path: '/scoped/r-eng',
    headers: (ids) => txnHop(ids, 'employee-service', 'alice', { scope: 'review.list profile.read' }),
    status: 403,
    reason: 'insufficient_scope',
    wwwAuthenticate: SCOPE_CHALLENGE,
  },
  {
    name: 'scope: an access token whose scope claim holds it (access-token mode)',
    method: 'GET',
    path: '/scoped/r-eng',
    headers: async (ids) => {
      const actor = await ids.mintActorToken('alice', { claims: { scope: 'openid review.read' } })
      const workload = await ids.mintWorkloadToken('employee-service', { audience: SERVICE, actorToken: actor })
      return [['authorization', `Bearer ${workload}`], [DEFAULT_ACTOR_HEADER, actor]]
    },
    status: 200,
    answer: allowed('alice'),
  },
  {
    name: 'scope: an access token without it (access-token mode)',
    method: 'GET',
    path: '/scoped/r-eng',
    headers: async (ids) => {
      const actor = await ids.mintActorToken('alice')
      const workload = await ids.mintWorkloadToken('employee-service', { audience: SERVICE, actorToken: actor })
      return [['authorization', `Bearer ${workload}`], [DEFAULT_ACTOR_HEADER, actor]]
    },
    status: 403,
    reason: 'insufficient_scope',
    wwwAuthenticate: SCOPE_CHALLENGE,
  },
]
