import { ConfigError } from '@meshguard/core'

/** A callee as the client knows it: the audience its workload tokens must be minted for. */
export interface Destination {
  /** The callee's workload identity, used as the `aud` of tokens minted for it (e.g. a SPIFFE ID). */
  readonly audience: string
  /**
   * The `aud` of WIMSE proofs (WPT) sent here, where a proxy rewrites URIs so the target URI would not
   * match. @defaultValue the target URI (without query or fragment)
   */
  readonly wptAudience?: string | undefined
}

/**
 * The destination map: origin (`scheme://host[:port]`) → the callee listening there. A value may be
 * the audience itself or a {@link Destination}.
 */
export type DestinationMap =
  | Readonly<Record<string, string | Destination>>
  | ReadonlyMap<string, string | Destination>

/** The compiled, frozen form of a {@link DestinationMap}: exact origin lookups only. */
export interface DestinationTable {
  /** The callee at `origin` (already canonical, see {@link canonicalOrigin}), or `undefined` when unmapped. */
  lookup(origin: string): Destination | undefined
}

/**
 * The canonical origin of a URL-ish value: lower-case scheme and host, default port dropped, as
 * WHATWG `URL.origin` spells it. Returns `undefined` for anything that is not an http(s) origin, so
 * an odd value can never match a mapped destination.
 */
export function canonicalOrigin(value: string | URL): string | undefined {
  if (typeof value !== 'string') return originOfUrl(value)
  // A service calls a handful of origins, so remembering the parse saves a URL parse per request.
  if (originCache.has(value)) return originCache.get(value)
  const origin = originOfString(value)
  if (originCache.size >= ORIGIN_CACHE_SIZE) originCache.clear()
  originCache.set(value, origin)
  return origin
}

const ORIGIN_CACHE_SIZE = 256
const originCache = new Map<string, string | undefined>()

function originOfString(value: string): string | undefined {
  let url: URL
  try {
    url = new URL(value)
  } catch {
    return undefined
  }
  return originOfUrl(url)
}

function originOfUrl(url: URL): string | undefined {
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return undefined
  return url.origin
}

/**
 * Validates and freezes the destination map. Keys must be bare http(s) origins (no path, query,
 * fragment or credentials) so that a mapping can never be read as broader or narrower than it is.
 *
 * @throws ConfigError (`ERR_AUTHZ_INVALID_CONFIG`) naming the offending `destinations[...]` entry.
 */
export function compileDestinations(map: DestinationMap): DestinationTable {
  const entries: Iterable<readonly [string, string | Destination]> =
    map instanceof Map ? map.entries() : Object.entries(map as Record<string, string | Destination>)
  const table = new Map<string, Destination>()
  for (const [key, value] of entries) {
    const option = `destinations[${JSON.stringify(key)}]`
    const origin = parseOriginKey(key, option)
    if (table.has(origin)) throw new ConfigError(option, `origin ${origin} is mapped twice`)
    const wptAudience = typeof value === 'object' && (value as unknown) !== null ? value.wptAudience : undefined
    if (wptAudience !== undefined && (typeof wptAudience !== 'string' || wptAudience === '')) throw new ConfigError(`${option}.wptAudience`, 'must be a non-empty string')
    table.set(origin, Object.freeze(wptAudience === undefined ? { audience: parseAudience(value, option) } : { audience: parseAudience(value, option), wptAudience }))
  }
  return Object.freeze({ lookup: (origin: string) => table.get(origin) })
}

function parseOriginKey(key: string, option: string): string {
  let url: URL
  try {
    url = new URL(key)
  } catch {
    throw new ConfigError(option, 'must be an absolute http(s) origin such as https://orders.internal:8443')
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new ConfigError(option, `scheme ${url.protocol} is not supported; use http: or https:`)
  }
  const hasExtras =
    url.username !== '' || url.password !== '' || url.search !== '' || url.hash !== '' || url.pathname !== '/'
  // `new URL('https://a')` has pathname '/', so a bare origin (with or without one trailing slash) passes.
  if (hasExtras || /^[a-z][a-z0-9+.-]*:\/\/[^/]*\/./i.test(key)) {
    throw new ConfigError(option, 'must be an origin only (scheme, host, port), without path, query or credentials')
  }
  return url.origin
}

function parseAudience(value: string | Destination, option: string): string {
  const audience = typeof value === 'string' ? value : (value as Partial<Destination> | null)?.audience
  if (typeof audience !== 'string' || audience.trim() === '' || audience !== audience.trim()) {
    throw new ConfigError(`${option}.audience`, 'must be a non-empty string without surrounding whitespace')
  }
  return audience
}
