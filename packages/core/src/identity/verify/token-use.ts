/**
 * The checks a verified token pair still passes on every request, cached or not: revocation of
 * either token, then one-time use of the workload token. Both run last, after every other check,
 * so only a pair that passed everything uses up its `jti`.
 */
import type { MaybePromise } from '../../internal/maybe-async.js'
import type { ReplayGuard } from './replay.js'
import type { RevocationGuard } from './revocation.js'
import { aboutToken, andThenAbout } from './token-kind.js'
import type { Verified } from './token-pair.js'

/** Runs `step` as a check about one token: its failure is marked with that token's kind. */
function about(kind: 'workload' | 'actor', step: () => MaybePromise<void>, next: () => MaybePromise<void>): MaybePromise<void> {
  let result: MaybePromise<void>
  try {
    result = step()
  } catch (err) {
    throw aboutToken(err, kind)
  }
  return andThenAbout(kind, result, next)
}

/**
 * Whether the pair may be used for this request: not revoked (workload token, then actor token),
 * and the workload token's first use here when one-time use is on.
 *
 * @throws IdentityError `token_revoked`, `token_replayed`, …; UnavailableError `revocation_unavailable`, `replay_store_unavailable`
 */
export function checkTokenUse(
  verified: Verified,
  guards: { readonly revocation: RevocationGuard | undefined; readonly replay: ReplayGuard | undefined },
  nowMs: number,
): MaybePromise<void> {
  const { revocation, replay } = guards
  const replayStep = (): MaybePromise<void> => (replay === undefined ? undefined : about('workload', () => replay.check(verified.workload, nowMs), () => undefined))
  if (revocation === undefined) return replayStep()
  return checkRevoked(revocation, verified.workload.claims, verified.actor?.claims, replayStep)
}

/**
 * Neither credential of a request is revoked: the workload's, then the one carrying the user (an
 * actor token or a Txn-Token), each failure marked with its token's kind; then `next`. Both profiles
 * (self-signed pairs and WIT + WPT) check through here.
 */
export function checkRevoked(
  revocation: RevocationGuard,
  workloadClaims: Readonly<Record<string, unknown>>,
  actorClaims: Readonly<Record<string, unknown>> | undefined,
  next: () => MaybePromise<void> = () => undefined,
): MaybePromise<void> {
  return about(
    'workload',
    () => revocation.check('workload', workloadClaims),
    () => (actorClaims === undefined ? next() : about('actor', () => revocation.check('actor', actorClaims), next)),
  )
}
