/**
 * The contract in the WIMSE profile: the same decisions with the caller proven by a WIT + WPT and the
 * user's context in a Txn-Token bound by `tth`, plus the WIMSE refusals with their `WPT` challenge.
 * The contract guard accepts both profiles (a migration), so the other tables run unchanged beside
 * this one. Each adapter gets its own fresh proof (a WPT is single-use at the shared guard).
 */
import { createWimseFixture, rawWpt, type WimseFixture } from '../support/wimse.js'
import type { IdentityFixture } from '../support/identity.js'
import { userContext } from '../support/txn-tokens.js'
import type { ContractCase } from './contract.js'
import { txnTokensFor } from './txn-cases.js'

/** The external origin the contract guard is configured with (a front proxy's, not the loopback listener's). */
export const CONTRACT_ORIGIN = 'https://reviews.example.org'

const fixtures = new WeakMap<IdentityFixture, { home: WimseFixture; foreign: WimseFixture }>()

/** The WIT issuers of an identity fixture: its own trust domain's, and a foreign one nobody trusts. */
export function wimseFor(ids: IdentityFixture): { home: WimseFixture; foreign: WimseFixture } {
  let found = fixtures.get(ids)
  if (found === undefined) {
    found = { home: createWimseFixture(), foreign: createWimseFixture({ trustDomain: 'partner.example' }) }
    fixtures.set(ids, found)
  }
  return found
}

type User = 'alice' | 'hana' | 'ed'

interface HopSpec {
  /** The path the WPT is made for. @defaultValue the case's path */
  audPath?: string
  foreign?: boolean
  /** Leave `tth` out although the Txn-Token travels. */
  unbound?: boolean
  /** Send `Authorization: Bearer` with the WIT instead of the proof. */
  bearer?: boolean
  /** Send the WIT header twice. */
  duplicateWit?: boolean
}

/** Headers of a WIMSE hop from employee-service to `path`, carrying a Txn-Token for `user`. */
async function wptHop(ids: IdentityFixture, path: string, user: User, spec: HopSpec = {}): Promise<[string, string][]> {
  const { home, foreign } = wimseFor(ids)
  const credential = await (spec.foreign === true ? foreign : home).credential('employee-service')
  const txnToken = await txnTokensFor(ids).mint({ sub: user, tctx: userContext(user) })
  const wpt = await rawWpt(credential, { aud: CONTRACT_ORIGIN + (spec.audPath ?? path), txnToken: spec.unbound === true ? undefined : txnToken })
  const headers: [string, string][] = [
    ['workload-identity-token', credential.wit],
    ['authorization', spec.bearer === true ? `Bearer ${wpt}` : `WPT ${wpt}`],
    ['txn-token', txnToken],
  ]
  if (spec.duplicateWit === true) headers.push(['workload-identity-token', credential.wit])
  return headers
}

const employeeService = 'spiffe://example.org/ns/default/sa/employee-service'
const allowed = (actor: string): Record<string, unknown> => ({ workload: employeeService, actor, policy: 'resource.review.vdefault', inCallerContext: true })

const refused = (name: string, spec: HopSpec, reason: string): ContractCase => ({
  name: `wpt: ${name}`,
  method: 'GET',
  path: '/reviews/r-eng',
  perApp: true,
  headers: (ids) => wptHop(ids, '/reviews/r-eng', 'alice', spec),
  status: 401,
  reason,
  tokenKind: 'workload',
  wwwAuthenticate: 'WPT',
})

/** The WIMSE table. */
export const WPT_CASES: readonly ContractCase[] = [
  { name: 'wpt: allowed: manager reads a review of her department', method: 'GET', path: '/reviews/r-eng', perApp: true, headers: (ids) => wptHop(ids, '/reviews/r-eng', 'alice'), status: 200, answer: allowed('alice') },
  { name: 'wpt: allowed: HR reads any review', method: 'GET', path: '/reviews/r-people', perApp: true, headers: (ids) => wptHop(ids, '/reviews/r-people', 'hana'), status: 200, answer: allowed('hana') },
  { name: 'wpt: denied: manager of another department', method: 'GET', path: '/reviews/r-people', perApp: true, headers: (ids) => wptHop(ids, '/reviews/r-people', 'alice'), status: 403, reason: 'denied' },
  refused('proof made for another target', { audPath: '/reviews/r-people' }, 'wpt_aud'),
  refused('WIT from an untrusted trust domain', { foreign: true }, 'wit_untrusted_domain'),
  refused('Txn-Token not bound by tth', { unbound: true }, 'wpt_unbound'),
  refused('WIT with a Bearer token (downgrade)', { bearer: true }, 'wpt_required'),
  refused('WIT header sent twice', { duplicateWit: true }, 'duplicate_header'),
]
