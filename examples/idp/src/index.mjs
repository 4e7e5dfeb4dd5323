export { startIdp, USER_GRANT, DEFAULT_AUDIENCE } from './idp.mjs'
export { DEMO_USERS, DEMO_AGENTS, LOGIN_CLIENT } from './accounts.mjs'
