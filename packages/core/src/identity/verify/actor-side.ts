/** The actor a verified actor token stands for, mapped once per token when the mapping is pure. */
import { deepFreeze } from '../../internal/deep-freeze.js'
import { IdentityError } from '../../errors.js'
import { walkActChain } from '../delegation.js'
import { authoritativeClaims, runMapping } from './principal.js'
import type { VerifiedActor } from '../caller.js'
import { bareRecord } from '../../internal/own.js'
import type { VerifierSettings } from './verifier-settings.js'
import type { VerifiedActorToken } from './verify-token.js'

/** An actor as verified and mapped, with its `act` chain. */
export interface ActorSide {
  readonly actor: VerifiedActor
  readonly actorChain: string[]
}

/** The claims an actor mapping may read: the actor's identity and what its issuer asserts. */
function actorClaims(claims: Readonly<Record<string, unknown>>, named: ReadonlySet<string>): Readonly<Record<string, unknown>> {
  const out = authoritativeClaims(claims, named)
  if (Object.hasOwn(claims, 'client_id')) out['client_id'] = claims['client_id']
  return out
}

/** One verifier's mapped actors, by the frozen claims they came from (default mapping only). */
export class ActorSides {
  private readonly sides = new WeakMap<object, ActorSide>()

  constructor(private readonly settings: Pick<VerifierSettings, 'mapsActorPurely' | 'mapActor' | 'maxActDepth'>) {}

  /**
   * The actor and its `act` chain from a verified actor token. With the default mapping both are a
   * pure function of the token's (remembered, frozen) claims, so a session token that comes back
   * with every new workload token maps once; a custom mapping runs every time.
   */
  of(verifiedActor: Pick<VerifiedActorToken, 'claims' | 'issuer'>): ActorSide {
    const { mapsActorPurely, mapActor, maxActDepth } = this.settings
    const { claims } = verifiedActor
    const issuer = verifiedActor.issuer.issuer
    const known = mapsActorPurely ? this.sides.get(claims) : undefined
    if (known !== undefined && known.actor.issuer === issuer) return known
    const actorChain = walkActChain(claims['act'], maxActDepth, false)
    const { authoritativeClaims: named, actorIdPrefix } = verifiedActor.issuer
    // The default mapping reads only the claims the issuer is configured to assert about its actors.
    const mapped = runMapping(() => mapActor(mapsActorPurely && named !== undefined ? actorClaims(claims, named) : claims))
    if (typeof mapped.id !== 'string' || mapped.id === '' || (mapped.type !== 'user' && (mapped.type as string) !== 'agent')) {
      throw new IdentityError('claim_mapping_failed', 'actor mapping returned no id or type')
    }
    // `sub` is unique per issuer only: with several issuers, the id says whose user it is.
    const id = actorIdPrefix + mapped.id
    // The tenant of a family issuer comes from the trust rule that matched, never from a claim.
    const { tenant } = verifiedActor.issuer
    const attr = tenant === undefined ? mapped.attr : Object.assign(bareRecord(), mapped.attr, { tenant })
    const actor: VerifiedActor = { id, type: mapped.type, roles: mapped.roles, attr, issuer, claims }
    const side: ActorSide = deepFreeze({ actor, actorChain })
    if (mapsActorPurely && Object.isFrozen(claims)) this.sides.set(claims, side)
    return side
  }
}
