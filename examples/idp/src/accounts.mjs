/**
 * The demo's people and agents. Users sign in through the `demo-login` client; the AI agent
 * authenticates as its own OAuth client (client credentials).
 */

/**
 * @typedef {object} DemoUser
 * @property {string} id       the `sub` of the user's access tokens
 * @property {string[]} roles  business roles (`employee`, `manager`, `hr`)
 * @property {string} department
 */

/**
 * @typedef {object} DemoAgent
 * @property {string} clientId     OAuth client id; also the `sub` of its tokens
 * @property {string} clientSecret demo-only secret
 * @property {string[]} roles
 */

/** @type {Readonly<Record<string, DemoUser>>} */
export const DEMO_USERS = Object.freeze({
  alice: { id: 'alice', roles: ['employee', 'manager'], department: 'engineering' },
  hana: { id: 'hana', roles: ['employee', 'hr'], department: 'people' },
  ed: { id: 'ed', roles: ['employee'], department: 'engineering' },
})

/** @type {Readonly<Record<string, DemoAgent>>} */
export const DEMO_AGENTS = Object.freeze({
  'hr-reporting-agent': {
    clientId: 'hr-reporting-agent',
    clientSecret: 'demo-agent-secret-not-for-production',
    roles: ['ai_agent'],
  },
})

/** The client the demo's users "sign in" with (scripted issuance, see `USER_GRANT`). */
export const LOGIN_CLIENT = Object.freeze({
  clientId: 'demo-login',
  clientSecret: 'demo-login-secret-not-for-production',
})
