/** Endpoint URLs the service trusts: `https:`, or `http:` only on a loopback host. */
import { ConfigError } from '@meshguard/core'

/** Hosts (as `URL.hostname` spells them) that never leave this machine. */
export const LOOPBACK_HOSTS: ReadonlySet<string> = new Set(['127.0.0.1', '[::1]', 'localhost'])

/** The URL, checked; a configuration mistake names `option`. */
export function checkEndpointUrl(value: unknown, option: string): URL {
  let url: URL
  try {
    url = new URL(String(value))
  } catch (err) {
    throw new ConfigError(option, 'must be an absolute URL', { cause: err })
  }
  if (url.protocol === 'https:' || (url.protocol === 'http:' && LOOPBACK_HOSTS.has(url.hostname))) return url
  throw new ConfigError(option, 'must use https (http only on a loopback host)')
}
