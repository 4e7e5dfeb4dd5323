// oidc-provider (a dev dependency: a real authorization server for the client-credentials tests)
// ships no type declarations. This types the part of it the tests use; its configuration stays
// an open object, checked by oidc-provider itself at construction.
declare module 'oidc-provider' {
  import type { IncomingMessage, ServerResponse } from 'node:http'

  export default class Provider {
    constructor(issuer: string, configuration?: Readonly<Record<string, unknown>>)
    /** A Node request listener serving the provider's endpoints. */
    callback(): (req: IncomingMessage, res: ServerResponse) => void
  }
}
