// Types of the sample identity provider (index.mjs) for the TypeScript tests that import it.

export interface IdpOptions {
  /** Interface to bind; loopback by default. */
  host?: string
  /** 0 (default) picks a free port. */
  port?: number
  /** `aud` of issued access tokens; defaults to `DEFAULT_AUDIENCE`. */
  audience?: string
  /** Lifetime of access tokens; default 600. */
  accessTokenTtlSeconds?: number
}

export interface Idp {
  /** E.g. `http://127.0.0.1:41234`. */
  issuer: string
  /** The published key set. */
  jwksUri: string
  tokenEndpoint: string
  audience: string
  /** Signs a demo user in; returns the access token. */
  userToken: (username: string) => Promise<string>
  /** Client-credentials token for a demo agent. */
  agentToken: (clientId: string) => Promise<string>
  close: () => Promise<void>
}

export interface DemoUser {
  /** The `sub` of the user's access tokens. */
  id: string
  /** Business roles (`employee`, `manager`, `hr`). */
  roles: string[]
  department: string
}

export interface DemoAgent {
  /** OAuth client id; also the `sub` of its tokens. */
  clientId: string
  /** Demo-only secret. */
  clientSecret: string
  roles: string[]
}

/** Starts the IdP on loopback. */
export declare function startIdp(options?: IdpOptions): Promise<Idp>
/** Grant type the `demo-login` client uses to obtain a user's access token (demo only). */
export declare const USER_GRANT: 'urn:meshguard:params:oauth:grant-type:demo-user'
/** Default audience (resource indicator) of every access token the IdP issues. */
export declare const DEFAULT_AUDIENCE: 'https://api.meshguard.example'
export declare const DEMO_USERS: Readonly<Record<string, DemoUser>>
export declare const DEMO_AGENTS: Readonly<Record<string, DemoAgent>>
/** The client the demo's users "sign in" with (scripted issuance, see `USER_GRANT`). */
export declare const LOGIN_CLIENT: Readonly<{ clientId: string; clientSecret: string }>
