import type { OutboundCaller } from './types.js'

// INTERIM until core's context module lands: no ambient caller (act as the service itself).
export const DEFAULT_IDENTITY_HEADERS: readonly string[] = ['x-meshguard-actor', 'x-meshguard-transaction-id']

export function currentCallerFromContext(): OutboundCaller | undefined {
  return undefined
}
