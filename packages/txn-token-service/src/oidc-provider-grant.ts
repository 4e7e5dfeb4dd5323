/**
 * Mounts the service's token exchange as a custom grant on an oidc-provider (v9) authorization
 * server, for teams that run one. oidc-provider authenticates the client first (its registered
 * `private_key_jwt` keys); the service then verifies the same assertion against its own trust
 * configuration, which alone decides the requester's roles, and answers exactly as standalone.
 * Only the shapes used here are typed, so oidc-provider stays an optional peer.
 */
import { ConfigError } from '@meshguard/core'
import type { TxnTokenService } from './service-api.js'
import { TOKEN_EXCHANGE_GRANT_TYPE } from './token-format.js'
import { TokenExchangeError } from './errors.js'

/** The part of an oidc-provider `Provider` the grant needs. */
export interface GrantTypeRegistry {
  registerGrantType(name: string, handler: (ctx: GrantContext) => Promise<void>, params?: string[], dupes?: string[]): void
}

/** The part of oidc-provider's Koa context the grant reads and writes. */
export interface GrantContext {
  oidc: { params?: Record<string, unknown> | undefined; client?: { clientId: string } | undefined }
  status: number
  body: unknown
  set(field: string, value: string): void
}

/** Every exchange parameter the service reads; oidc-provider strips the others before the handler. */
const GRANT_PARAMS = [
  'requested_token_type',
  'audience',
  'scope',
  'subject_token',
  'subject_token_type',
  'request_context',
  'request_details',
  // Read only to refuse them with the service's own errors.
  'actor_token',
  'actor_token_type',
  'resource',
]

const stringParam = (params: Record<string, unknown>, name: string): string | undefined => {
  const value = Object.hasOwn(params, name) ? params[name] : undefined
  return typeof value === 'string' ? value : undefined
}

/**
 * Registers the token-exchange grant on `provider`. Register each requesting workload as a client
 * with `client_id` = its SPIFFE ID, `token_endpoint_auth_method: 'private_key_jwt'`, its public
 * `jwks`, and `grant_types` including the token-exchange URN; create the service with `issuer` =
 * the provider's issuer so assertions name the same token endpoint.
 *
 * @example
 * ```ts
 * const provider = new Provider(issuer, configuration)
 * const tts = createTxnTokenService({ issuer, trustDomain, signingKeys, trust, subjectIssuers, engine })
 * mountTxnTokenGrant(provider, tts)
 * ```
 */
export function mountTxnTokenGrant(provider: GrantTypeRegistry, service: TxnTokenService): void {
  if (typeof provider !== 'object' || (provider as unknown) === null || typeof provider.registerGrantType !== 'function') {
    throw new ConfigError('provider', 'must be an oidc-provider Provider')
  }
  provider.registerGrantType(
    TOKEN_EXCHANGE_GRANT_TYPE,
    async (ctx) => {
      const raw = ctx.oidc.params ?? {}
      const params = new Map<string, string>()
      for (const name of Object.keys(raw)) {
        const value = stringParam(raw, name)
        if (value !== undefined) params.set(name, value)
      }
      const client = {
        assertion: stringParam(raw, 'client_assertion'),
        assertionType: stringParam(raw, 'client_assertion_type'),
        clientId: ctx.oidc.client?.clientId,
      }
      try {
        ctx.body = await service.exchange(params, client)
        ctx.status = 200
      } catch (err) {
        // exchange() throws only TokenExchangeErrors; the answer is the same JSON error as standalone.
        const error = err instanceof TokenExchangeError ? err : new TokenExchangeError('temporarily_unavailable', 'internal', 'the token service could not complete the request')
        ctx.status = error.httpStatus
        ctx.body = error.toBody()
      }
      ctx.set('cache-control', 'no-store')
    },
    GRANT_PARAMS,
  )
}
