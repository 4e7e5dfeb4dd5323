// oidc-provider (v9) ships no type declarations: the part of its Provider the tests use.
declare module 'oidc-provider' {
  import type { IncomingMessage, ServerResponse } from 'node:http'

  /** Provider configuration (clients, jwks, features, ...): checked by oidc-provider when constructed. */
  export type Configuration = Record<string, unknown>

  /** The part of oidc-provider's Koa context (`KoaContextWithOIDC`) the tests' grants read and write. */
  export interface KoaContextWithOIDC {
    oidc: { params?: Record<string, unknown> | undefined; client?: { clientId: string } | undefined }
    status: number
    body: unknown
    set(field: string, value: string): void
  }

  /** A grant type's handler. */
  export type GrantTypeHandler = (ctx: KoaContextWithOIDC) => Promise<void>

  export default class Provider {
    constructor(issuer: string, configuration?: Configuration)
    /** Whether `X-Forwarded-*` headers are trusted. */
    proxy: boolean
    /** A Node request listener serving the provider's endpoints. */
    callback(): (req: IncomingMessage, res: ServerResponse) => void
    registerGrantType(name: string, handler: GrantTypeHandler, params?: string[], dupes?: string[]): void
  }
}
