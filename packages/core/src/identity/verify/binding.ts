import { IdentityError } from '../../errors.js'

/**
 * The workload ↔ actor binding (in the spirit of DPoP's `ath`): a workload token minted for one actor
 * token carries `ath = base64url(sha256(actor token))`. It cannot travel with another actor token,
 * nor without one (context stripping). Tokens from sources that cannot bind are accepted unbound only
 * when their trust anchor says so.
 *
 * @param ath - the workload token's `ath` claim
 * @param actorDigest - sha256 of the actor token received, or undefined when none came
 * @param bindingRequired - the anchor's `requireActorBinding`
 * @throws IdentityError `actor_binding_mismatch`
 */
export function checkActorBinding(ath: unknown, actorDigest: string | undefined, bindingRequired: boolean): void {
  if (ath !== undefined && ath !== actorDigest) {
    throw new IdentityError('actor_binding_mismatch', 'workload token is bound to a different actor token')
  }
  if (actorDigest !== undefined && ath === undefined && bindingRequired) {
    throw new IdentityError('actor_binding_mismatch', 'workload token is not bound to the actor token')
  }
}

/**
 * An exchanged actor token names the workload it was issued to (`act.sub`, its current actor). Only
 * that workload, or one upstream in this very call chain, may present it.
 *
 * @throws IdentityError `actor_workload_mismatch`
 */
export function checkActorIssuedTo(actorChain: readonly string[], workloadId: string, workloadChain: readonly string[]): void {
  const current = actorChain[0]
  if (current !== undefined && current !== workloadId && !workloadChain.includes(current)) {
    throw new IdentityError('actor_workload_mismatch', 'actor token was issued to another workload')
  }
}
