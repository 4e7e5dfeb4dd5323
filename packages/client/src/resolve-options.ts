import type { TextMapPropagator } from '@opentelemetry/api'
import { callerContext, ConfigError } from '@meshguard/core'

import { actingFromCallerContext, DEFAULT_IDENTITY_HEADERS } from './caller.js'
import { compileDestinations, type DestinationTable } from './destinations.js'
import type { MeshguardClientOptions, OnUnmapped, OutboundActing, OutboundIdentity } from './types.js'

/** Validated, frozen client options. Per-request code reads only this. */
export interface ResolvedClientOptions {
  readonly identity: OutboundIdentity
  readonly destinations: DestinationTable
  readonly onUnmapped: OnUnmapped
  readonly acting: () => OutboundActing | undefined
  readonly propagator: TextMapPropagator | undefined
  readonly propagateTraceToUnmapped: boolean
  /** Lower-case names removed from every outgoing request before the client adds its own. */
  readonly identityHeaders: ReadonlySet<string>
}

const ON_UNMAPPED: readonly OnUnmapped[] = ['send-anonymous', 'refuse']

/**
 * Checks every option once, at construction.
 *
 * @throws ConfigError (`ERR_AUTHZ_INVALID_CONFIG`) naming the option path.
 */
export function resolveClientOptions(options: MeshguardClientOptions): ResolvedClientOptions {
  if (typeof options !== 'object' || (options as unknown) === null) throw new ConfigError('options', 'must be an object')
  if (typeof (options.identity as typeof options.identity | undefined)?.headersFor !== 'function') {
    throw new ConfigError('identity', 'must provide headersFor({ audience, actor, transactionId }), e.g. createWorkloadIdentity(...)')
  }
  if (typeof options.destinations !== 'object' || (options.destinations as unknown) === null) {
    throw new ConfigError('destinations', 'must map origins to callee audiences')
  }
  const onUnmapped = options.onUnmapped ?? 'send-anonymous'
  if (!ON_UNMAPPED.includes(onUnmapped)) {
    throw new ConfigError('onUnmapped', `must be one of ${ON_UNMAPPED.map((v) => `'${v}'`).join(', ')}`)
  }
  if (options.acting !== undefined && typeof options.acting !== 'function') {
    throw new ConfigError('acting', 'must be a function returning who the current call acts for')
  }
  if (options.propagator !== undefined && typeof (options.propagator as typeof options.propagator | null)?.inject !== 'function') {
    throw new ConfigError('propagator', 'must be an OpenTelemetry TextMapPropagator')
  }
  const propagateTraceToUnmapped = options.propagateTraceToUnmapped ?? false
  if (typeof propagateTraceToUnmapped !== 'boolean') throw new ConfigError('propagateTraceToUnmapped', 'must be a boolean')
  // The default reads core's caller context: it must carry scopes from the first request on.
  if (options.acting === undefined) callerContext.enable()
  return Object.freeze({
    identity: options.identity,
    destinations: compileDestinations(options.destinations),
    onUnmapped,
    acting: options.acting ?? actingFromCallerContext,
    propagator: options.propagator,
    propagateTraceToUnmapped,
    identityHeaders: resolveHeaderNames(options.identityHeaders),
  })
}

function resolveHeaderNames(names: readonly string[] | undefined): ReadonlySet<string> {
  if (names === undefined) return new Set(DEFAULT_IDENTITY_HEADERS)
  if (!Array.isArray(names)) throw new ConfigError('identityHeaders', 'must be an array of header names')
  return new Set(
    names.map((name, index) => {
      if (typeof name !== 'string' || !/^[!#$%&'*+.^_`|~0-9a-z-]+$/i.test(name)) {
        throw new ConfigError(`identityHeaders[${index}]`, 'must be a valid header name')
      }
      return name.toLowerCase()
    }),
  )
}
