/**
 * Multi-tenant actor issuers: one rule for a family of issuers that differ only by a tenant in the
 * path (`https://login.example.com/{tenant}/v2.0`, Keycloak realms, Entra ID tenants). A tenant is
 * trusted only when the rule's explicit allow-list (or allow function) says so; its issuer then gets
 * its own keys (discovery from the tenant's issuer, unless the family shares one key source), kept
 * for a bounded number of tenants. The tenant reaches policies as `act.user.attr.tenant`.
 */
import { ConfigError } from '../../errors.js'
import { Lru } from '../lru.js'
import { trustedFetchUrl } from './remote-document.js'
import type { ActorIssuer, ActorIssuerFamily, KeyStoreContext, ResolvedActorIssuer } from './types.js'

/** How the bundle validates one actor issuer (`issuers`: how many share the bundle, for the id prefix). */
export type ResolveActorIssuer = (actor: ActorIssuer, option: string, context: KeyStoreContext, issuers: number) => ResolvedActorIssuer

/** The placeholder of a family's issuer template. */
export const TENANT_PLACEHOLDER = '{tenant}'

/** What a tenant may look like: one path segment of safe characters. */
const TENANT = /^[A-Za-z0-9._-]{1,128}$/

interface Resolved {
  readonly issuer: ResolvedActorIssuer | undefined
}

/** One family rule, with the tenants resolved so far. */
export class IssuerFamily {
  private readonly prefix: string
  private readonly suffix: string
  private readonly allowed: (tenant: string) => boolean
  private readonly resolved: Lru<string, Resolved>
  /** One key store for every tenant, when the family shares its keys. */
  private readonly sharedKeys: ResolvedActorIssuer['keys'] | undefined

  constructor(
    private readonly family: ActorIssuerFamily,
    private readonly option: string,
    private readonly context: KeyStoreContext,
    private readonly resolveActorIssuer: ResolveActorIssuer,
  ) {
    if (typeof family !== 'object' || (family as unknown) === null) throw new ConfigError(option, 'must be an object')
    const template = family.issuerTemplate
    if (typeof template !== 'string' || template.split(TENANT_PLACEHOLDER).length !== 2) {
      throw new ConfigError(`${option}.issuerTemplate`, `must contain ${TENANT_PLACEHOLDER} exactly once`)
    }
    const at = template.indexOf(TENANT_PLACEHOLDER)
    this.prefix = template.slice(0, at)
    this.suffix = template.slice(at + TENANT_PLACEHOLDER.length)
    // The tenant may only choose a path: never the scheme, the host or the port.
    const sample = trustedFetchUrl(`${this.prefix}tenant${this.suffix}`, `${option}.issuerTemplate`)
    if (!sample.pathname.includes('tenant') || !this.prefix.startsWith(`${sample.origin}/`)) {
      throw new ConfigError(`${option}.issuerTemplate`, `must put ${TENANT_PLACEHOLDER} in the path, after the host`)
    }
    this.allowed = allowRule(family.tenants, `${option}.tenants`)
    const maxTenants = family.maxTenants ?? 100
    if (!Number.isInteger(maxTenants) || maxTenants < 1) throw new ConfigError(`${option}.maxTenants`, 'must be an integer ≥ 1')
    this.resolved = new Lru(maxTenants)
    if (Object.hasOwn(family, 'actorIdPrefix')) {
      throw new ConfigError(`${option}.actorIdPrefix`, "is always the tenant's issuer and `#`: one prefix for every tenant would mix their users")
    }
    // Keys by discovery are per tenant; any other key source is one store for the whole family.
    const perTenant = family.keys === undefined || 'discovery' in family.keys
    // Validate the per-issuer options once now, with a sample tenant.
    const probe = resolveActorIssuer({ ...family, issuer: sample.href, keys: perTenant ? { jwks: { keys: [] } } : family.keys }, option, context, 2)
    this.sharedKeys = perTenant ? undefined : probe.keys
  }

  /** The resolved issuer for `iss` if it belongs to this family and its tenant is allowed; undefined otherwise. */
  resolve(iss: string): ResolvedActorIssuer | undefined {
    if (!iss.startsWith(this.prefix) || !iss.endsWith(this.suffix) || iss.length <= this.prefix.length + this.suffix.length) return undefined
    const tenant = iss.slice(this.prefix.length, iss.length - this.suffix.length)
    if (!TENANT.test(tenant)) return undefined
    const known = this.resolved.get(tenant)
    if (known !== undefined) return known.issuer
    let trusted: boolean
    try {
      trusted = (this.allowed(tenant) as unknown) === true // a service's rule: only a real true trusts
    } catch {
      // A failing allow rule trusts nobody.
      trusted = false
    }
    const issuer = trusted ? this.build(iss, tenant) : undefined
    this.resolved.set(tenant, { issuer })
    return issuer
  }

  private build(iss: string, tenant: string): ResolvedActorIssuer {
    const { family, option, context } = this
    const keys = this.sharedKeys === undefined ? (family.keys ?? { discovery: true }) : { jwks: { keys: [] } }
    const resolved = this.resolveActorIssuer({ ...family, issuer: iss, keys }, option, context, 2)
    // With shared keys every tenant uses the one store (one fetch for the whole family).
    return Object.freeze({ ...resolved, keys: this.sharedKeys ?? resolved.keys, tenant })
  }
}

function allowRule(tenants: ActorIssuerFamily['tenants'], option: string): (tenant: string) => boolean {
  if (typeof tenants === 'function') return tenants
  if (!Array.isArray(tenants) || tenants.length === 0 || tenants.some((t) => typeof t !== 'string' || !TENANT.test(t))) {
    throw new ConfigError(option, 'must list the trusted tenants (or be a function deciding each one): a family never trusts every tenant')
  }
  const list = new Set(tenants)
  return (tenant) => list.has(tenant)
}
