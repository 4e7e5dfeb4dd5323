/** URLs the service trusts: encrypted ones (`https:`, `rediss:`), or plain ones only on a loopback host. */
import { ConfigError } from '@meshguard/core'

const LOOPBACK = new Set(['127.0.0.1', '[::1]', 'localhost'])

/**
 * The URL, checked: scheme `secure` anywhere, `plain` (its unencrypted twin) only on a loopback
 * host. A configuration mistake names `option`.
 */
export function checkUrlScheme(value: unknown, option: string, schemes: { secure: string; plain: string }): URL {
  let url: URL
  try {
    url = new URL(String(value))
  } catch (err) {
    throw new ConfigError(option, 'must be an absolute URL', { cause: err })
  }
  const { secure, plain } = schemes
  if (url.protocol === `${secure}:` || (url.protocol === `${plain}:` && LOOPBACK.has(url.hostname))) return url
  throw new ConfigError(option, `must use ${secure} (${plain} only on a loopback host)`)
}

/** An endpoint URL, checked: `https:`, or `http:` on a loopback host. */
export function checkEndpointUrl(value: unknown, option: string): URL {
  return checkUrlScheme(value, option, { secure: 'https', plain: 'http' })
}
