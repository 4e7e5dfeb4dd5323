import { ConfigError } from '../../errors.js'

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]'])

/**
 * A service endpoint the minting side sends credentials to (a rogue one would harvest them), from
 * trusted configuration: `https:`, or plain `http:` only where nothing leaves the host (loopback).
 *
 * @throws ConfigError naming `option`
 */
export function endpointUrl(value: unknown, option: string): URL {
  let url: URL
  try {
    url = new URL(String(value))
  } catch {
    throw new ConfigError(option, 'is not a valid URL')
  }
  if (typeof value !== 'string') throw new ConfigError(option, 'must be a URL string')
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && LOOPBACK.has(url.hostname))) {
    throw new ConfigError(option, 'must be https: (http: on loopback only)')
  }
  return url
}
