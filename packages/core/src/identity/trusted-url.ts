import { ConfigError } from '../errors.js'

const LOOPBACK_HOSTS = new Set(['127.0.0.1', '[::1]', 'localhost'])

/**
 * A URL from trusted configuration that meshguard fetches trust material from or sends credentials
 * to (a token service, a WIT issuer): `https:`, or plain `http:` on loopback only, and never with
 * credentials in it.
 *
 * @throws ConfigError naming `option`
 */
export function trustedFetchUrl(value: unknown, option: string): URL {
  let url: URL
  try {
    url = new URL(String(value))
  } catch {
    throw new ConfigError(option, 'is not a valid URL')
  }
  if (typeof value !== 'string') throw new ConfigError(option, 'must be a URL string')
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && LOOPBACK_HOSTS.has(url.hostname))) {
    throw new ConfigError(option, 'must use https (plain http only on loopback)')
  }
  if (url.username || url.password) throw new ConfigError(option, 'must not carry credentials')
  return url
}
