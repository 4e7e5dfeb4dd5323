import { IdentityError } from '../errors.js'

/** A parsed SPIFFE ID (`spiffe://<trust-domain>/<path>`). Compare IDs by `id`, never by prefix. */
export interface SpiffeId {
  /** The normalized ID, e.g. `spiffe://example.org/ns/hr/sa/employee-service`. */
  readonly id: string
  /** The trust domain, e.g. `example.org`. */
  readonly trustDomain: string
  /** The path including its leading `/`, or `''` for the trust-domain ID itself. */
  readonly path: string
}

const MAX_ID_BYTES = 2048
const MAX_TRUST_DOMAIN_BYTES = 255
const TRUST_DOMAIN = /^[a-z0-9._-]+$/
const PATH_SEGMENT = /^[A-Za-z0-9._-]+$/
const PREFIX = 'spiffe://'

const invalid = (why: string): IdentityError => new IdentityError('invalid_spiffe_id', `invalid SPIFFE ID: ${why}`)

/**
 * Parses a SPIFFE ID strictly, as the SPIFFE-ID standard defines it: lower-case scheme and trust
 * domain, no userinfo, port, query, fragment or percent-encoding, no empty, `.` or `..` segments,
 * no trailing slash, at most 2048 bytes.
 *
 * @param value - the candidate ID (usually a token's `sub`)
 * @param options - `allowTrustDomainOnly` accepts `spiffe://td` without a path (default false)
 * @throws IdentityError with reason `invalid_spiffe_id`; the message never echoes the input
 */
export function parseSpiffeId(value: unknown, options: { allowTrustDomainOnly?: boolean } = {}): SpiffeId {
  if (typeof value !== 'string') throw invalid('not a string')
  const known = parsedIds.get(value)
  if (known !== undefined) return known
  const id = parseUncached(value, options)
  // Only IDs with a workload path: those are valid whatever `allowTrustDomainOnly` says.
  if (id.path !== '') {
    if (parsedIds.size >= PARSED_IDS) parsedIds.delete(parsedIds.keys().next().value as string)
    parsedIds.set(value, id)
  }
  return id
}

/** Parsed IDs remembered: one caller's `sub` comes back with every token it mints. */
const PARSED_IDS = 256
const parsedIds = new Map<string, SpiffeId>()

function parseUncached(value: string, options: { allowTrustDomainOnly?: boolean }): SpiffeId {
  if (Buffer.byteLength(value, 'utf8') > MAX_ID_BYTES) throw invalid('longer than 2048 bytes')
  if (!value.startsWith(PREFIX)) throw invalid('scheme must be spiffe://')
  const rest = value.slice(PREFIX.length)
  const slash = rest.indexOf('/')
  const trustDomain = slash === -1 ? rest : rest.slice(0, slash)
  const path = slash === -1 ? '' : rest.slice(slash)
  if (trustDomain.length === 0) throw invalid('empty trust domain')
  if (trustDomain.length > MAX_TRUST_DOMAIN_BYTES) throw invalid('trust domain longer than 255 bytes')
  // The charset excludes ':' (port), '@' (userinfo), '%' (encoding), '?', '#' and upper case.
  if (!TRUST_DOMAIN.test(trustDomain)) throw invalid('trust domain has characters outside [a-z0-9._-]')
  if (path === '') {
    if (!options.allowTrustDomainOnly) throw invalid('no workload path')
    return Object.freeze({ id: value, trustDomain, path })
  }
  const segments = path.slice(1).split('/')
  for (const segment of segments) {
    if (segment.length === 0) throw invalid('empty path segment or trailing slash')
    if (segment === '.' || segment === '..') throw invalid('dot segment in path')
    if (!PATH_SEGMENT.test(segment)) throw invalid('path has characters outside [A-Za-z0-9._-]')
  }
  return Object.freeze({ id: value, trustDomain, path })
}

/** True when `value` parses as a SPIFFE ID with a workload path. Never throws. */
export function isSpiffeId(value: unknown): value is string {
  try {
    parseSpiffeId(value)
    return true
  } catch {
    return false
  }
}

/**
 * An identity pattern as written in a trust bundle: an exact SPIFFE ID, or `spiffe://<td>/*` for
 * every workload of one trust domain. Anything else is a configuration error (checked at startup).
 */
export type IdentityPattern = string

/** Compiles identity patterns into a matcher over parsed SPIFFE IDs (exact comparison, no prefixes). */
export function compileIdentityPatterns(patterns: readonly IdentityPattern[]): (id: SpiffeId) => boolean {
  const exact = new Set<string>()
  const domains = new Set<string>()
  for (const pattern of patterns) {
    if (pattern.endsWith('/*')) {
      const domain = parseSpiffeId(pattern.slice(0, -2), { allowTrustDomainOnly: true })
      if (domain.path !== '') throw invalid('wildcards are only allowed for a whole trust domain')
      domains.add(domain.trustDomain)
    } else exact.add(parseSpiffeId(pattern).id)
  }
  return (id) => exact.has(id.id) || domains.has(id.trustDomain)
}
