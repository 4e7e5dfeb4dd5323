import { callerContext, DEFAULT_ACTOR_HEADER, DEFAULT_TRANSACTION_HEADER } from '@meshguard/core'
import { TXN_TOKEN_HEADER } from '@meshguard/core/txn-tokens'
import { WIT_HEADER } from '@meshguard/core/wimse'

import type { OutboundActing } from './types.js'

/** Header names only meshguard may set, by default: core's actor, transaction id, Txn-Token and WIT headers. */
export const DEFAULT_IDENTITY_HEADERS: readonly string[] = [DEFAULT_ACTOR_HEADER, DEFAULT_TRANSACTION_HEADER, TXN_TOKEN_HEADER, WIT_HEADER]

/**
 * Who the current call acts for, from core's `callerContext`: the request being served (set by the
 * adapters), or a background job's explicit `runAsService` / `runWithActor` scope; outside any scope
 * the service acts as itself.
 *
 * @throws MintError `actor_expired` when the served request's actor token has expired, so a job that
 *   outlived its request never forwards a stale user token.
 */
export function actingFromCallerContext(): OutboundActing {
  return callerContext.outbound()
}
