import type { Environment } from '@marcbachmann/cel-js'
import { invalidArgument } from '../values.js'
import { STRING_CONVERSION } from './conversions.js'

/**
 * Cerbos's SPIFFE functions (`spiffeID`, `spiffeTrustDomain`, `spiffeMatch*`), with go-spiffe's
 * parsing rules: `spiffe://` scheme, a lower-case trust domain of `[a-z0-9._-]`, and a path of
 * non-empty `[A-Za-z0-9._-]` segments that are not `.` or `..`, without a trailing slash.
 */

const TRUST_DOMAIN = /^[a-z0-9._-]+$/
const SEGMENT = /^[A-Za-z0-9._-]+$/

/** A SPIFFE trust domain. */
export class SpiffeTrustDomain {
  constructor(readonly name: string) {}
  idString(): string {
    return `spiffe://${this.name}`
  }
  toString(): string {
    return this.name
  }
}

/** A SPIFFE ID. */
export class SpiffeId {
  constructor(
    readonly trustDomain: SpiffeTrustDomain,
    readonly path: string,
  ) {}
  toString(): string {
    return `${this.trustDomain.idString()}${this.path}`
  }
}

/** A predicate over SPIFFE IDs (`spiffeMatchAny()`, `spiffeMatchExact(...)`, ...). */
export class SpiffeMatcher {
  constructor(readonly matches: (id: SpiffeId) => boolean) {}
}

/** Parses a SPIFFE ID; undefined when it is not valid. */
export function parseSpiffeId(text: string): SpiffeId | undefined {
  if (!text.startsWith('spiffe://')) return undefined
  const rest = text.slice('spiffe://'.length)
  const slash = rest.indexOf('/')
  const domain = slash < 0 ? rest : rest.slice(0, slash)
  const path = slash < 0 ? '' : rest.slice(slash)
  if (!TRUST_DOMAIN.test(domain)) return undefined
  if (path !== '') {
    const segments = path.slice(1).split('/')
    if (segments.some((s) => !SEGMENT.test(s) || s === '.' || s === '..')) return undefined
  }
  return new SpiffeId(new SpiffeTrustDomain(domain), path)
}

/** Parses a trust domain name (`example.org`) or takes the trust domain of a SPIFFE ID. */
export function parseTrustDomain(text: string): SpiffeTrustDomain | undefined {
  if (text.includes(':/')) return parseSpiffeId(text)?.trustDomain
  return TRUST_DOMAIN.test(text) ? new SpiffeTrustDomain(text) : undefined
}

function idOf(value: string | SpiffeId): SpiffeId {
  if (value instanceof SpiffeId) return value
  return parseSpiffeId(value) ?? invalidArgument(`failed to parse SPIFFE ID: ${value}`)
}

function domainOf(value: string | SpiffeTrustDomain): SpiffeTrustDomain {
  if (value instanceof SpiffeTrustDomain) return value
  return parseTrustDomain(value) ?? invalidArgument(`failed to parse SPIFFE trust domain: ${value}`)
}

/** Registers the SPIFFE types, constructors, methods and matchers. */
export function registerSpiffe(env: Environment): void {
  const ID = 'cerbos.lib.spiffeID'
  const TD = 'cerbos.lib.spiffeTrustDomain'
  const M = 'cerbos.lib.spiffeMatcher'
  env.registerType(ID, SpiffeId)
  env.registerType(TD, SpiffeTrustDomain)
  env.registerType(M, SpiffeMatcher)

  env.registerFunction(`spiffeID(string): ${ID}`, idOf)
  env.registerFunction(`spiffeTrustDomain(string): ${TD}`, domainOf)
  env.registerFunction(`spiffeTrustDomain(${ID}): ${TD}`, (id: SpiffeId) => id.trustDomain)
  env.registerFunction(`${ID}.path(): string`, (id: SpiffeId) => id.path)
  env.registerFunction(`${ID}.trustDomain(): ${TD}`, (id: SpiffeId) => id.trustDomain)
  env.registerFunction(`${ID}.isMemberOf(${TD}): bool`, (id: SpiffeId, td: SpiffeTrustDomain) => id.trustDomain.name === td.name)
  env.registerFunction(`${TD}.id(): string`, (td: SpiffeTrustDomain) => td.idString())
  env.registerFunction(`${TD}.name(): string`, (td: SpiffeTrustDomain) => td.name)
  env.registerFunction(`${STRING_CONVERSION}(${ID}): string`, (id: SpiffeId) => id.toString())
  env.registerFunction(`${STRING_CONVERSION}(${TD}): string`, (td: SpiffeTrustDomain) => td.name)

  env.registerOperator(`${ID} == ${ID}`, (a: SpiffeId, b: SpiffeId) => a.toString() === b.toString())
  env.registerOperator(`${TD} == ${TD}`, (a: SpiffeTrustDomain, b: SpiffeTrustDomain) => a.name === b.name)

  env.registerFunction(`spiffeMatchAny(): ${M}`, () => new SpiffeMatcher(() => true))
  const exact = (value: string | SpiffeId): SpiffeMatcher => {
    const want = idOf(value).toString()
    return new SpiffeMatcher((id) => id.toString() === want)
  }
  env.registerFunction(`spiffeMatchExact(${ID}): ${M}`, exact)
  env.registerFunction(`spiffeMatchExact(string): ${M}`, exact)
  env.registerFunction(`spiffeMatchOneOf(list): ${M}`, (values: unknown[]) => {
    const wanted = new Set(
      values.map((v) => (v instanceof SpiffeId || typeof v === 'string' ? idOf(v).toString() : invalidArgument('spiffeMatchOneOf() expects SPIFFE IDs'))),
    )
    return new SpiffeMatcher((id) => wanted.has(id.toString()))
  })
  const memberOf = (value: string | SpiffeTrustDomain): SpiffeMatcher => {
    const domain = domainOf(value).name
    return new SpiffeMatcher((id) => id.trustDomain.name === domain)
  }
  env.registerFunction(`spiffeMatchTrustDomain(${TD}): ${M}`, memberOf)
  env.registerFunction(`spiffeMatchTrustDomain(string): ${M}`, memberOf)
  env.registerFunction(`${M}.matchesID(${ID}): bool`, (m: SpiffeMatcher, id: SpiffeId) => m.matches(id))
  env.registerFunction(`${M}.matchesID(string): bool`, (m: SpiffeMatcher, id: string) =>
    m.matches(parseSpiffeId(id) ?? invalidArgument(`invalid SPIFFE ID: ${id}`)),
  )
}
