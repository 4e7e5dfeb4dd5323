import { IdentityError } from '../errors.js'
import { isSpiffeId } from './spiffe.js'

/**
 * Walks a nested RFC 8693 `act` claim iteratively (never recursively: depth is attacker-controlled)
 * and returns the `sub` of each level, current actor first.
 *
 * @param act - the `act` claim (undefined: no delegation)
 * @param maxDepth - levels allowed; one more is `act_too_deep`
 * @param spiffeOnly - every `sub` must be a SPIFFE ID (workload call chains)
 * @throws IdentityError `act_too_deep` or `act_invalid`
 */
export function walkActChain(act: unknown, maxDepth: number, spiffeOnly: boolean): string[] {
  const chain: string[] = []
  let node = act
  while (node !== undefined) {
    if (chain.length >= maxDepth) throw new IdentityError('act_too_deep', `delegation chain deeper than ${maxDepth}`)
    if (typeof node !== 'object' || node === null || Array.isArray(node)) {
      throw new IdentityError('act_invalid', 'delegation "act" is not an object')
    }
    const { sub } = node as { sub?: unknown }
    if (typeof sub !== 'string' || sub.length === 0 || (spiffeOnly && !isSpiffeId(sub))) {
      throw new IdentityError('act_invalid', 'delegation "act" has no valid "sub"')
    }
    chain.push(sub)
    node = (node as { act?: unknown }).act
  }
  return chain
}

/** Rebuilds a nested `act` claim from a chain (nearest first). */
export function toActClaim(chain: readonly string[]): Record<string, unknown> | undefined {
  let act: Record<string, unknown> | undefined
  for (let i = chain.length - 1; i >= 0; i--) act = act === undefined ? { sub: chain[i] } : { sub: chain[i], act }
  return act
}
