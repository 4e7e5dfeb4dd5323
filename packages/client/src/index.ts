/**
 * `@meshguard/client`: outbound calls that carry a workload token minted for exactly their callee,
 * the actor the call is made for, the transaction id and the trace context. Built on undici.
 *
 * @packageDocumentation
 */
export { meshguardInterceptor } from './interceptor.js'
export { createMeshguardFetch } from './fetch.js'
export { withTxnScope } from './txn-scope.js'
export type { MeshguardFetch, MeshguardFetchOptions } from './fetch.js'
export { canonicalOrigin } from './destinations.js'
export type { Destination, DestinationMap } from './destinations.js'
export type {
  MeshguardClientOptions,
  OnUnmapped,
  OutboundActing,
  OutboundHeadersRequest,
  OutboundIdentity,
} from './types.js'
