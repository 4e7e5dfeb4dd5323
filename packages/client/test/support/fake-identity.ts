import { MintError } from '@meshguard/core'

import type { OutboundHeadersRequest, OutboundIdentity } from '../../src/index.js'

/** The actor and transaction header names the fake mints (core's defaults). */
export const ACTOR_HEADER = 'x-meshguard-actor'
export const TXN_HEADER = 'x-meshguard-txn'

/**
 * A minting side that records what it was asked and returns recognisable headers. `fail` makes the
 * next calls reject the way core's `createWorkloadIdentity` does.
 */
export class RecordingIdentity implements OutboundIdentity {
  readonly calls: OutboundHeadersRequest[] = []
  failure: Error | undefined = undefined

  async headersFor(request: OutboundHeadersRequest): Promise<Record<string, string>> {
    this.calls.push({ ...request })
    if (this.failure !== undefined) throw this.failure
    const headers: Record<string, string> = {
      authorization: `Bearer workload-for:${request.audience}`,
      [TXN_HEADER]: request.transactionId ?? 'txn-new',
    }
    if (request.actor !== undefined) headers[ACTOR_HEADER] = request.actor
    return headers
  }

  failWith(reason: string): void {
    this.failure = new MintError(reason, `cannot mint (${reason})`)
  }
}
