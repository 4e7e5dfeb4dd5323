import { readFileSync, statSync } from 'node:fs'
import { ConfigError, IdentityError } from '../../errors.js'
import { toKeyMap } from './jwk.js'
import { DiscoveredKeyStore, ProviderDiscovery } from './discovery.js'
import { RemoteJwks } from './remote-jwks.js'
import type { KeyEntry, KeySourceOptions, KeyStore, KeyStoreContext } from './types.js'

const unknownKey = (): IdentityError => new IdentityError('unknown_key', 'no trusted key matches the token kid')

class StaticKeyStore implements KeyStore {
  constructor(
    readonly source: string,
    private readonly keys: Map<string, KeyEntry>,
  ) {}
  getKey(kid: string): KeyEntry {
    const key = this.keys.get(kid)
    if (key === undefined) throw unknownKey()
    return key
  }
  currentKey(kid: string): KeyEntry | undefined {
    return this.keys.get(kid)
  }
}

/** A JWKS file: loaded at startup (failing fast), re-read when its mtime changes, checked at most once per second. */
class FileKeyStore implements KeyStore {
  private keys: Map<string, KeyEntry>
  private mtimeMs: number
  private checkedAt: number
  constructor(
    readonly source: string,
    private readonly context: KeyStoreContext,
  ) {
    this.mtimeMs = statSync(source).mtimeMs
    this.keys = this.read()
    this.checkedAt = context.clock()
  }
  private read(): Map<string, KeyEntry> {
    const text = readFileSync(this.source, 'utf8')
    return toKeyMap(JSON.parse(text), (reason) => this.context.emit({ type: 'jwk_ignored', source: this.source, reason }), this.context.keyUses)
  }
  private refreshIfChanged(): void {
    const now = this.context.clock()
    if (now - this.checkedAt < 1000) return
    this.checkedAt = now
    try {
      const mtimeMs = statSync(this.source).mtimeMs
      if (mtimeMs === this.mtimeMs) return
      this.keys = this.read()
      this.mtimeMs = mtimeMs
      this.context.emit({ type: 'jwks_file_reloaded', source: this.source, keys: this.keys.size })
    } catch (err) {
      // A half-written or vanished file keeps the last good keys.
      this.context.emit({ type: 'jwks_fetch_failed', source: this.source, error: err instanceof Error ? err.message : 'unreadable' })
    }
  }
  getKey(kid: string): KeyEntry {
    const key = this.currentKey(kid)
    if (key === undefined) throw unknownKey()
    return key
  }
  currentKey(kid: string): KeyEntry | undefined {
    this.refreshIfChanged()
    return this.keys.get(kid)
  }
}

/**
 * Creates the key store for one anchor's `keys` option (`issuer`: the anchor's, for discovery);
 * configuration mistakes throw `ConfigError` naming `option`.
 */
export function createKeyStore(keys: KeySourceOptions, option: string, context: KeyStoreContext, issuer?: string): KeyStore {
  if (typeof keys !== 'object' || (keys as unknown) === null) throw new ConfigError(option, 'must be { jwks }, { jwksFile }, { jwksUrl } or { discovery }')
  if ('discovery' in keys) {
    if (issuer === undefined) throw new ConfigError(`${option}.discovery`, 'needs the issuer of the anchor')
    return new DiscoveredKeyStore(new ProviderDiscovery(issuer, keys.discovery, `${option}.discovery`, context), `${option}.discovery`, context)
  }
  if ('jwks' in keys) {
    try {
      const map = toKeyMap(keys.jwks, (reason) => {
        // A private key in a trust bundle is a leak waiting to happen: refuse it loudly. Other keys
        // (e.g. SPIFFE `x509-svid` keys next to `jwt-svid` ones) are skipped, as the standard says.
        if (reason === 'private_key_material') throw new ConfigError(`${option}.jwks`, 'contains private key material')
        context.emit({ type: 'jwk_ignored', source: 'inline', reason })
      }, context.keyUses)
      return new StaticKeyStore('inline', map)
    } catch (err) {
      if (err instanceof ConfigError) throw err
      throw new ConfigError(`${option}.jwks`, err instanceof Error ? err.message : 'invalid JWKS')
    }
  }
  if ('jwksFile' in keys) {
    try {
      return new FileKeyStore(keys.jwksFile, context)
    } catch (err) {
      throw new ConfigError(`${option}.jwksFile`, err instanceof Error ? err.message : 'unreadable JWKS file', { cause: err })
    }
  }
  if ('jwksUrl' in keys) return new RemoteJwks(keys, `${option}.jwksUrl`, context)
  throw new ConfigError(option, 'must be { jwks }, { jwksFile }, { jwksUrl } or { discovery }')
}
