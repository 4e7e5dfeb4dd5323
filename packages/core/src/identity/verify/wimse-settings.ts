/** The WIMSE receiver options of one verifier (`identity.wimse`), validated once. */
import { ConfigError } from '../../errors.js'
import { SINGLE_VALUE_HEADERS } from '../headers.js'
import { WIT_HEADER } from '../wimse-wire.js'
import type { WimseReceiverOptions } from './types.js'

/** WIMSE receiver settings after validation, with every default applied. */
export interface WimseSettings {
  /** Origins (`scheme://host[:port]`, canonical) a WPT `aud` may start with, before the request path. */
  readonly origins: readonly string[]
  /** Whole `aud` values accepted. */
  readonly aliases: ReadonlySet<string>
  /** Whether `Bearer` workload tokens (the self-signed profile) are accepted beside WPTs. */
  readonly acceptBearer: boolean
  readonly maxWptTtl: number
  readonly skew: number
  /** Lower-case header names `oth` may bind. */
  readonly otherTokens: readonly string[]
  readonly witCacheSize: number
  /** Names for the replay key of this callee (origins and aliases). */
  readonly calleeNames: ReadonlySet<string>
}

function boundedSeconds(value: number | undefined, fallback: number, cap: number, option: string, zero = false): number {
  if (value === undefined) return fallback
  if (!Number.isFinite(value) || value < 0 || (value === 0 && !zero) || value > cap) throw new ConfigError(option, `must be a number of seconds up to ${cap}`)
  return value
}

function canonicalOrigin(value: unknown, option: string): string {
  let url: URL
  try {
    url = new URL(String(value))
  } catch {
    throw new ConfigError(option, 'must be an absolute http(s) origin such as https://reviews.example.org')
  }
  const bare = url.pathname === '/' && url.search === '' && url.hash === '' && url.username === '' && url.password === ''
  if ((url.protocol !== 'https:' && url.protocol !== 'http:') || !bare || /^[a-z]+:\/\/[^/]*\/./i.test(String(value))) {
    throw new ConfigError(option, 'must be an http(s) origin only (scheme, host, port)')
  }
  return url.origin
}

/**
 * Validates `identity.wimse`.
 *
 * @throws ConfigError naming the option (`identity.wimse.origins`, `identity.wimse.maxWptTtl`, …)
 */
export function resolveWimseSettings(options: WimseReceiverOptions): WimseSettings {
  if (typeof options !== 'object' || (options as unknown) === null) throw new ConfigError('identity.wimse', 'must be an object')
  const originList = options.origins ?? []
  if (!Array.isArray(originList)) throw new ConfigError('identity.wimse.origins', 'must be a list of origins')
  const origins = originList.map((o, i) => canonicalOrigin(o, `identity.wimse.origins[${i}]`))
  const aliasList = options.audiences ?? []
  if (!Array.isArray(aliasList) || aliasList.some((a) => typeof a !== 'string' || a === '')) {
    throw new ConfigError('identity.wimse.audiences', 'must be a list of non-empty strings')
  }
  if (origins.length === 0 && aliasList.length === 0) {
    throw new ConfigError('identity.wimse.origins', 'name this service\'s external origins (or `audiences` aliases): a WPT "aud" is checked against them, never against Host')
  }
  const accept = options.accept ?? 'wpt'
  if (accept !== 'wpt' && (accept as string) !== 'wpt-and-bearer') throw new ConfigError('identity.wimse.accept', 'must be "wpt" or "wpt-and-bearer"')
  const otherList = options.otherTokens ?? []
  if (!Array.isArray(otherList) || otherList.some((n) => typeof n !== 'string' || !/^[!#$%&'*+.^_`|~0-9a-z-]+$/i.test(n))) {
    throw new ConfigError('identity.wimse.otherTokens', 'must be a list of header names')
  }
  const otherTokens = otherList.map((n) => n.toLowerCase())
  for (const name of otherTokens) {
    if (name === 'authorization' || name === WIT_HEADER || SINGLE_VALUE_HEADERS.has(name)) {
      throw new ConfigError('identity.wimse.otherTokens', `"${name}" cannot be an other context token`)
    }
  }
  const witCacheSize = options.witCacheSize ?? 10_000
  if (!Number.isInteger(witCacheSize) || witCacheSize < 0) throw new ConfigError('identity.wimse.witCacheSize', 'must be an integer ≥ 0')
  return Object.freeze({
    origins: Object.freeze(origins),
    aliases: new Set(aliasList),
    acceptBearer: accept === 'wpt-and-bearer',
    maxWptTtl: boundedSeconds(options.maxWptTtl, 60, 300, 'identity.wimse.maxWptTtl'),
    skew: boundedSeconds(options.clockSkew, 30, 120, 'identity.wimse.clockSkew', true),
    otherTokens: Object.freeze(otherTokens),
    witCacheSize,
    calleeNames: new Set([...origins, ...aliasList]),
  })
}
