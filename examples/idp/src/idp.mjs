/**
 * A real OAuth 2.0 / OIDC server (oidc-provider) on loopback for the sample system.
 *
 * - Publishes its JWKS (ES256 key generated at start) at the discovery document's `jwks_uri`.
 * - AI agents get `at+jwt` access tokens through the standard client-credentials grant.
 * - Users get `at+jwt` access tokens through `USER_GRANT`, a demo-only custom grant type that
 *   stands in for an interactive login: the `demo-login` client names the user. It exists so the
 *   demo and tests can sign users in without a browser; a real deployment uses the
 *   authorization-code flow instead, and the tokens look the same to the services.
 *
 * Every access token carries `roles` (and for users `department`) so that meshguard can put
 * them in `request.principal.attr.act.user`; agent tokens also carry `type: "AI_AGENT"` and
 * `actor_type: "ai_agent"` (the claim meshguard reads to tell agents from users).
 */
import { generateKeyPairSync, randomBytes } from 'node:crypto'
import { createServer } from 'node:http'
import { URLSearchParams } from 'node:url'
import { DEMO_AGENTS, DEMO_USERS, LOGIN_CLIENT } from './accounts.mjs'
import { createMemoryAdapter } from './memory-adapter.mjs'

// oidc-provider 9 prints "Unsupported runtime" when imported on Node 20; it works there (the
// project's tests run it on Node 20), so that one line is kept out of the demo's output.
const { default: Provider, errors } = await importWithoutRuntimeNotice()

/** Grant type the `demo-login` client uses to obtain a user's access token (demo only). */
export const USER_GRANT = 'urn:meshguard:params:oauth:grant-type:demo-user'

/** Default audience (resource indicator) of every access token the IdP issues. */
export const DEFAULT_AUDIENCE = 'https://api.meshguard.example'

/**
 * @typedef {object} IdpOptions
 * @property {string} [host]  interface to bind; loopback by default
 * @property {number} [port]  0 (default) picks a free port
 * @property {string} [audience] `aud` of issued access tokens; defaults to `DEFAULT_AUDIENCE`
 * @property {number} [accessTokenTtlSeconds] lifetime of access tokens; default 600
 */

/**
 * @typedef {object} Idp
 * @property {string} issuer       e.g. `http://127.0.0.1:41234`
 * @property {string} jwksUri      the published key set
 * @property {string} tokenEndpoint
 * @property {string} audience
 * @property {(username: string) => Promise<string>} userToken  signs a demo user in; returns the access token
 * @property {(clientId: string) => Promise<string>} agentToken client-credentials token for a demo agent
 * @property {() => Promise<void>} close
 */

/**
 * Starts the identity provider.
 * @param {IdpOptions} [options]
 * @returns {Promise<Idp>}
 */
export async function startIdp(options = {}) {
  const host = options.host ?? '127.0.0.1'
  const audience = options.audience ?? DEFAULT_AUDIENCE
  const ttl = options.accessTokenTtlSeconds ?? 600

  // The issuer URL must contain the port, so bind first and build the provider after.
  let handler = /** @type {import('node:http').RequestListener} */ ((_req, res) => {
    res.statusCode = 503
    res.end()
  })
  const server = createServer((req, res) => handler(req, res))
  await new Promise((resolve, reject) => {
    server.once('error', reject)
    server.listen(options.port ?? 0, host, () => resolve(undefined))
  })
  const address = /** @type {import('node:net').AddressInfo} */ (server.address())
  const issuer = `http://${host}:${address.port}`

  const provider = new Provider(issuer, providerConfiguration({ audience, ttl }))
  provider.registerGrantType(USER_GRANT, userGrantHandler(provider, audience, ttl), ['username'])
  // Local development over plain http on loopback: nothing to proxy.
  provider.proxy = false
  handler = provider.callback()

  const tokenEndpoint = `${issuer}/token`
  return {
    issuer,
    jwksUri: `${issuer}/jwks`,
    tokenEndpoint,
    audience,
    userToken: (username) =>
      requestToken(tokenEndpoint, LOGIN_CLIENT.clientId, LOGIN_CLIENT.clientSecret, {
        grant_type: USER_GRANT,
        username,
      }),
    agentToken: (clientId) => {
      const agent = DEMO_AGENTS[clientId]
      if (!agent) return Promise.reject(new Error(`unknown demo agent ${clientId}`))
      return requestToken(tokenEndpoint, agent.clientId, agent.clientSecret, {
        grant_type: 'client_credentials',
        resource: audience,
      })
    },
    close: () =>
      new Promise((resolve, reject) => {
        server.closeAllConnections()
        server.close((err) => (err ? reject(err) : resolve()))
      }),
  }
}

/**
 * @param {{ audience: string, ttl: number }} settings
 * @returns {Record<string, unknown>} oidc-provider configuration
 */
function providerConfiguration({ audience, ttl }) {
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' })
  const jwk = { ...privateKey.export({ format: 'jwk' }), kid: `idp-${randomBytes(4).toString('hex')}`, alg: 'ES256', use: 'sig' }
  return {
    adapter: createMemoryAdapter(),
    ttl: { AccessToken: ttl, ClientCredentials: ttl },
    jwks: { keys: [/** @type {any} */ (jwk)] },
    clientDefaults: { id_token_signed_response_alg: 'ES256' },
    cookies: { keys: [randomBytes(32).toString('hex')] },
    clients: [
      {
        client_id: LOGIN_CLIENT.clientId,
        client_secret: LOGIN_CLIENT.clientSecret,
        grant_types: [USER_GRANT],
        response_types: [],
        redirect_uris: [],
      },
      ...Object.values(DEMO_AGENTS).map((agent) => ({
        client_id: agent.clientId,
        client_secret: agent.clientSecret,
        grant_types: ['client_credentials'],
        response_types: [],
        redirect_uris: [],
      })),
    ],
    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      resourceIndicators: {
        enabled: true,
        defaultResource: () => audience,
        useGrantedResource: () => true,
        getResourceServerInfo: (/** @type {unknown} */ _ctx, /** @type {string} */ resource) => {
          if (resource !== audience) throw new errors.InvalidTarget()
          return resourceServerInfo(audience, ttl)
        },
      },
    },
    extraTokenClaims: (/** @type {unknown} */ _ctx, /** @type {unknown} */ token) => tokenClaims(token),
  }
}

/**
 * The resource server (audience) every access token is issued for: JWT format, ES256.
 * @param {string} audience
 * @param {number} ttl seconds
 */
function resourceServerInfo(audience, ttl) {
  return {
    audience,
    scope: '',
    accessTokenFormat: 'jwt',
    accessTokenTTL: ttl,
    jwt: { sign: { alg: 'ES256' } },
  }
}

/**
 * The public API's purposes a user's or the agent's tokens allow (`api_scope`): what the Txn-Token
 * Service narrows each transaction's `scope` from. Users may read reviews and place orders; the agent
 * reads reports.
 */
export const API_SCOPES = Object.freeze({ user: 'review.read order.write', agent: 'report.read' })

/**
 * Claims meshguard maps into `act.user`: the user's roles and department, or the agent's roles
 * and its `AI_AGENT` type; and the API purposes the token allows (`api_scope`).
 * @param {any} token
 */
function tokenClaims(token) {
  if (token.accountId) {
    const user = DEMO_USERS[token.accountId]
    return user ? { roles: user.roles, department: user.department, type: 'USER', api_scope: API_SCOPES.user } : undefined
  }
  const agent = DEMO_AGENTS[token.clientId]
  return agent ? { roles: agent.roles, type: 'AI_AGENT', actor_type: 'ai_agent', api_scope: API_SCOPES.agent } : undefined
}

/**
 * The demo-only "sign this user in" grant: issues the same `at+jwt` access token an
 * authorization-code login would, for a user the IdP knows.
 * @param {any} provider
 * @param {string} audience
 * @param {number} ttl
 */
function userGrantHandler(provider, audience, ttl) {
  return async (/** @type {any} */ ctx) => {
    const username = ctx.oidc.params.username
    if (typeof username !== 'string' || !Object.hasOwn(DEMO_USERS, username)) {
      throw new errors.InvalidGrant('unknown user')
    }
    const token = new provider.AccessToken({
      accountId: username,
      client: ctx.oidc.client,
      gty: USER_GRANT,
      scope: undefined,
    })
    token.resourceServer = new provider.ResourceServer(audience, resourceServerInfo(audience, ttl))
    ctx.oidc.entity('AccessToken', token)
    const value = await token.save()
    ctx.body = { access_token: value, token_type: 'Bearer', expires_in: token.expiration }
  }
}

/**
 * A token request with client_secret_basic authentication.
 * @param {string} endpoint
 * @param {string} clientId
 * @param {string} clientSecret
 * @param {Record<string, string>} params
 * @returns {Promise<string>}
 */
async function requestToken(endpoint, clientId, clientSecret, params) {
  const basic = Buffer.from(`${encodeURIComponent(clientId)}:${encodeURIComponent(clientSecret)}`).toString('base64')
  const response = await fetch(endpoint, {
    method: 'POST',
    headers: { authorization: `Basic ${basic}`, 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(params).toString(),
  })
  const body = /** @type {any} */ (await response.json())
  if (!response.ok || typeof body.access_token !== 'string') {
    throw new Error(`token request failed: ${response.status} ${body.error ?? ''} ${body.error_description ?? ''}`.trim())
  }
  return body.access_token
}

/** @returns {Promise<typeof import('oidc-provider')>} */
async function importWithoutRuntimeNotice() {
  const warn = console.warn
  console.warn = (/** @type {unknown[]} */ ...args) => {
    if (typeof args[0] === 'string' && args[0].includes('Unsupported runtime')) return
    warn(...args)
  }
  try {
    return await import('oidc-provider')
  } finally {
    console.warn = warn
  }
}
