/**
 * OpenID Connect Discovery (OIDC Discovery 1.0 §4): an issuer configured by its `issuer` URL alone.
 * The provider's `/.well-known/openid-configuration` names its JWKS; the document is validated
 * (its `issuer` must equal the configured one exactly, `jwks_uri` must be a URL a verifier may fetch),
 * cached and refreshed on the same stale-if-error rules as a remote JWKS, and every lookup fails
 * closed (`discovery_unavailable`) once no valid document can be had.
 */
import { ConfigError, UnavailableError } from '../../errors.js'
import type { MaybePromise } from '../../internal/maybe-async.js'
import type { KeyEntry, KeyStore, KeyStoreContext } from './types.js'
import { RemoteDocument, refreshRules, trustedFetchUrl, type RefreshRules } from './remote-document.js'
import { RemoteJwks } from './remote-jwks.js'
import type { DiscoveryOptions } from './types.js'

const MAX_DISCOVERY_BYTES = 256 * 1024

/** The same defaults as a remote JWKS. */
const DEFAULT_RULES: RefreshRules = Object.freeze({ timeoutMs: 5000, cooldownMs: 30_000, cacheMaxAgeMs: 600_000, staleIfErrorMs: 3_600_000 })

/** The members of a provider's metadata that meshguard uses. */
export interface ProviderMetadata {
  readonly issuer: string
  readonly jwksUri: string
  /** RFC 7662 introspection endpoint, when the provider has one. */
  readonly introspectionEndpoint: string | undefined
}

/** The discovery URL of an issuer: `/.well-known/openid-configuration` after its path, without a trailing `/`. */
export function discoveryUrl(issuer: string): string {
  return `${issuer.replace(/\/$/, '')}/.well-known/openid-configuration`
}

/** Validates a discovery document for `issuer`; throws (a failed fetch) when it does not fit. */
export function parseProviderMetadata(json: unknown, issuer: string): ProviderMetadata {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new Error('document is not a JSON object')
  const doc = json as Record<string, unknown>
  const own = (name: string): unknown => (Object.prototype.hasOwnProperty.call(doc, name) ? doc[name] : undefined)
  // OIDC Discovery §4.3: the issuer in the document MUST be identical to the one it was fetched for.
  if (own('issuer') !== issuer) throw new Error('issuer mismatch')
  const jwksUri = own('jwks_uri')
  try {
    trustedFetchUrl(jwksUri, 'jwks_uri')
  } catch {
    throw new Error('jwks_uri missing or not fetchable')
  }
  const introspection = own('introspection_endpoint')
  let introspectionEndpoint: string | undefined
  if (introspection !== undefined) {
    try {
      introspectionEndpoint = trustedFetchUrl(introspection, 'introspection_endpoint').href
    } catch {
      throw new Error('introspection_endpoint not fetchable')
    }
  }
  return Object.freeze({ issuer, jwksUri: jwksUri as string, introspectionEndpoint })
}

/** An issuer's provider metadata, fetched by discovery and kept under the remote JWKS rules. */
export class ProviderDiscovery {
  readonly source: string
  /** The rules, headers and fetch the discovered JWKS is fetched with too. */
  readonly rules: RefreshRules
  readonly headers: Record<string, string> | undefined
  readonly fetchImpl: typeof fetch
  private readonly document: RemoteDocument<ProviderMetadata>
  private readonly emit: KeyStoreContext['emit']

  constructor(issuer: string, options: DiscoveryOptions['discovery'], option: string, context: KeyStoreContext) {
    const settings = options === true ? {} : options
    if (typeof settings !== 'object' || (settings as unknown) === null) throw new ConfigError(option, 'must be true or an object of refresh options')
    const url = trustedFetchUrl(discoveryUrl(issuer), `${option}.issuer`)
    this.source = url.origin + url.pathname
    const rules = refreshRules(settings, option, DEFAULT_RULES)
    this.rules = rules
    this.headers = settings.headers
    this.fetchImpl = settings.fetch ?? globalThis.fetch
    this.document = new RemoteDocument(
      { url, headers: { accept: 'application/json', ...settings.headers }, fetch: this.fetchImpl, maxBytes: MAX_DISCOVERY_BYTES },
      rules,
      (json) => parseProviderMetadata(json, issuer),
      {
        clock: context.clock,
        fetched: (durationMs) => context.emit({ type: 'discovery_fetched', source: this.source, durationMs }),
        failed: (error) => context.emit({ type: 'discovery_fetch_failed', source: this.source, error }),
      },
    )
    this.emit = context.emit
  }

  /** The metadata while fresh, without fetching. */
  fresh(): ProviderMetadata | undefined {
    return this.document.fresh()
  }

  /**
   * The metadata, fetched first when there is none usable.
   * @throws UnavailableError `discovery_unavailable`
   */
  metadata(): MaybePromise<ProviderMetadata> {
    const found = this.document.current()
    if (found instanceof Promise) return found.then((doc) => this.orFail(doc))
    return this.orFail(found)
  }

  private orFail(doc: ProviderMetadata | undefined): ProviderMetadata {
    if (doc !== undefined) return doc
    this.emit({ type: 'discovery_unavailable', source: this.source })
    throw new UnavailableError('discovery_unavailable', 'the discovery document of a trusted issuer cannot be fetched or is invalid')
  }
}

/**
 * The key store of a discovered issuer: its JWKS at the `jwks_uri` the current discovery document
 * names. When a refreshed document names another `jwks_uri`, keys come from there from then on.
 */
export class DiscoveredKeyStore implements KeyStore {
  readonly source: string
  private jwks: RemoteJwks | undefined

  constructor(
    private readonly discovery: ProviderDiscovery,
    private readonly option: string,
    private readonly context: KeyStoreContext,
  ) {
    this.source = discovery.source
  }

  getKey(kid: string): Promise<KeyEntry> | KeyEntry {
    const metadata = this.discovery.metadata()
    if (metadata instanceof Promise) return metadata.then((doc) => this.storeFor(doc).getKey(kid))
    return this.storeFor(metadata).getKey(kid)
  }

  currentKey(kid: string): KeyEntry | undefined {
    // Only while the document is fresh and still names the JWKS the key came from.
    const doc = this.discovery.fresh()
    const jwks = this.jwks
    return doc !== undefined && jwks !== undefined && jwks.href === doc.jwksUri ? jwks.currentKey(kid) : undefined
  }

  private storeFor(doc: ProviderMetadata): RemoteJwks {
    if (this.jwks === undefined || this.jwks.href !== doc.jwksUri) {
      const { rules, headers, fetchImpl } = this.discovery
      this.jwks = new RemoteJwks({ jwksUrl: doc.jwksUri, ...rules, headers, fetch: fetchImpl }, `${this.option}.jwks_uri`, this.context)
    }
    return this.jwks
  }
}
