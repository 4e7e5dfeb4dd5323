import { ConfigError, MintError } from '../../errors.js'
import type { WorkloadTokenSource } from './token-source.js'

/** Options of {@link clientCredentialsSource}. */
export interface ClientCredentialsSourceOptions {
  /** The authorization server's token endpoint. */
  tokenEndpoint: string
  clientId: string
  clientSecret: string
  /** How the client authenticates. @defaultValue `'client_secret_basic'` */
  authMethod?: 'client_secret_basic' | 'client_secret_post' | undefined
  /** Requested scope. */
  scope?: string | undefined
  /** The RFC 8707 `resource` for a callee. @defaultValue the audience itself */
  resource?: ((audience: string) => string) | undefined
  /** Abort a token request after this long. @defaultValue 5000 */
  timeoutMs?: number | undefined
  /** The fetch implementation. @defaultValue `globalThis.fetch` */
  fetch?: typeof fetch | undefined
}

/**
 * OAuth 2.0 client credentials (RFC 6749 §4.4) with one RFC 8707 resource per callee. Tokens are
 * requested by the minting side, which caches them per callee and refreshes before expiry.
 */
export function clientCredentialsSource(options: ClientCredentialsSourceOptions): WorkloadTokenSource {
  let endpoint: URL
  try {
    endpoint = new URL(options.tokenEndpoint)
  } catch {
    throw new ConfigError('identity.source.tokenEndpoint', 'is not a valid URL')
  }
  if (typeof options.clientId !== 'string' || options.clientId === '') throw new ConfigError('identity.source.clientId', 'is required')
  if (typeof options.clientSecret !== 'string' || options.clientSecret === '') {
    throw new ConfigError('identity.source.clientSecret', 'is required')
  }
  const authMethod = options.authMethod ?? 'client_secret_basic'
  const resourceFor = options.resource ?? ((audience: string) => audience)
  const timeoutMs = options.timeoutMs ?? 5000
  const fetchImpl = options.fetch ?? globalThis.fetch
  return {
    kind: 'client-credentials',
    binds: false,
    async token(request) {
      const body = new URLSearchParams({ grant_type: 'client_credentials', resource: resourceFor(request.audience) })
      if (options.scope !== undefined) body.set('scope', options.scope)
      const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' }
      if (authMethod === 'client_secret_basic') {
        const user = encodeURIComponent(options.clientId)
        const pass = encodeURIComponent(options.clientSecret)
        headers['authorization'] = `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}`
      } else {
        body.set('client_id', options.clientId)
        body.set('client_secret', options.clientSecret)
      }
      let json: Record<string, unknown>
      let status: number
      try {
        const response = await fetchImpl(endpoint, {
          method: 'POST',
          headers,
          body,
          redirect: 'manual',
          signal: AbortSignal.timeout(timeoutMs),
        })
        status = response.status
        json = (await response.json()) as Record<string, unknown>
      } catch (err) {
        throw new MintError('token_endpoint_unavailable', 'token endpoint cannot be reached', { cause: err })
      }
      if (status !== 200) {
        // The OAuth error code is safe to surface; the description may not be.
        const code = typeof json['error'] === 'string' && /^[a-z_]{1,64}$/.test(json['error']) ? json['error'] : `http_${status}`
        throw new MintError('token_endpoint_rejected', `token endpoint refused the request (${code})`)
      }
      const token = json['access_token']
      const expiresIn = json['expires_in']
      const tokenType = json['token_type']
      if (typeof token !== 'string' || typeof expiresIn !== 'number' || !(expiresIn > 0)) {
        throw new MintError('token_endpoint_invalid', 'token endpoint answered without a usable access token')
      }
      if (typeof tokenType === 'string' && tokenType.toLowerCase() !== 'bearer') {
        throw new MintError('token_endpoint_invalid', 'token endpoint issued a non-bearer token')
      }
      return { token, expiresAt: request.now + expiresIn * 1000 }
    },
  }
}
