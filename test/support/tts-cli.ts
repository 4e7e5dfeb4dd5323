/** What the tests of `meshguard tts` share: a free loopback port and the form a gateway exchanges. */
import { createServer } from 'node:net'
import { JWT_BEARER_ASSERTION_TYPE, TOKEN_EXCHANGE_GRANT_TYPE, TOKEN_TYPES } from '@meshguard/txn-token-service'
import { TRUST_DOMAIN, type IdentityFixture } from './identity.js'

/** A port on 127.0.0.1 that was free a moment ago. */
export const freePort = (): Promise<number> =>
  new Promise<number>((resolve) => {
    const probe = createServer().listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as { port: number }
      probe.close(() => resolve(port))
    })
  })

/** A token-exchange form of the fixture's gateway at the service `issuer`: alice's access token and a fresh assertion. */
export async function gatewayExchangeForm(ids: IdentityFixture, issuer: string): Promise<Record<string, string>> {
  return {
    grant_type: TOKEN_EXCHANGE_GRANT_TYPE,
    requested_token_type: TOKEN_TYPES.txnToken,
    audience: TRUST_DOMAIN,
    scope: 'review.read',
    subject_token: await ids.mintActorToken('alice', { claims: { scope: 'review.read' } }),
    subject_token_type: TOKEN_TYPES.accessToken,
    client_assertion_type: JWT_BEARER_ASSERTION_TYPE,
    client_assertion: await ids.mintWorkloadToken('gateway', { audience: `${issuer}/token` }),
  }
}
