/**
 * Access-token mode at the edge (`edge.forwardAccessToken`, T72): the handler's outbound calls carry
 * the verified Bearer access token as the actor. By default the access token stops at the edge; it
 * is never forwarded beside a Txn-Token Service, and a DPoP-bound token never travels without its proof.
 */
import { callerContext, ConfigError, createGuard, EmbeddedEngine, type Guard, type GuardOptions } from '@meshguard/core'
import type { RequestView } from '@meshguard/core/adapter'
import { beforeAll, describe, expect, it } from 'vitest'
import { clientKey, proof } from '../support/dpop.js'
import { createIdentityFixture, type IdentityFixture } from '../support/identity.js'

const ORIGIN = 'https://api.example.org'
const PATH = '/reviews/r1'

let ids: IdentityFixture
beforeAll(async () => {
  ids = await createIdentityFixture()
})

function edgeGuard(edge: Partial<NonNullable<GuardOptions['edge']>>): Guard {
  return createGuard({
    // Authentication only: no route here asks the engine.
    engine: EmbeddedEngine.fromSources([]),
    service: 'gateway',
    edge: { trust: { workloads: [], actors: ids.trust().actors }, origin: ORIGIN, ...edge },
  })
}

const viewWith = (headers: Record<string, string>): RequestView => ({ method: 'GET', target: PATH, path: PATH, headers, params: {}, request: undefined })

/** What an outbound call made by the handler of this request would carry. */
async function outboundOf(guard: Guard, headers: Record<string, string>): Promise<ReturnType<typeof callerContext.outbound>> {
  const outcome = await guard.authenticate(viewWith(headers), { actor: 'required' })
  if (!outcome.ok) throw new Error(`refused: ${outcome.error.reason}`)
  return guard.run(outcome.caller, () => callerContext.outbound())
}

describe('edge.forwardAccessToken', () => {
  it('carries the verified Bearer access token as the actor, in the request transaction', async () => {
    const token = await ids.mintActorToken('alice')
    const outbound = await outboundOf(edgeGuard({ forwardAccessToken: true }), { authorization: `Bearer ${token}` })
    expect(outbound.actor).toBe(token)
    expect(outbound.transactionId).toMatch(/\S/)
  })

  it('T72 an edge forwards no access token unless told to: it stops at the edge', async () => {
    const token = await ids.mintActorToken('alice')
    const outbound = await outboundOf(edgeGuard({}), { authorization: `Bearer ${token}` })
    expect(outbound.actor).toBeUndefined()
    expect(JSON.stringify(outbound)).not.toContain(token)
  })

  it('T72 a DPoP-bound token is never forwarded, whose proof cannot travel with it', async () => {
    const key = clientKey()
    const token = await ids.mintActorToken('alice', { claims: { cnf: { jkt: key.jkt } } })
    const headers = { authorization: `DPoP ${token}`, dpop: proof(key, { method: 'GET', url: `${ORIGIN}${PATH}`, token }) }
    const outbound = await outboundOf(edgeGuard({ forwardAccessToken: true }), headers)
    expect(outbound.actor).toBeUndefined()
    expect(JSON.stringify(outbound)).not.toContain(token)
  })

  it('T72 forwarding is refused beside a Txn-Token Service, and when it is not a boolean', () => {
    const txnTokens = { clientId: 'spiffe://example.org/ns/edge/sa/gateway', exchange: () => Promise.reject(new Error('unused')) }
    for (const edge of [{ forwardAccessToken: true, txnTokens }, { forwardAccessToken: 'yes' as unknown as boolean }]) {
      let thrown: unknown
      try {
        edgeGuard(edge)
      } catch (err) {
        thrown = err
      }
      expect(thrown).toBeInstanceOf(ConfigError)
      expect((thrown as ConfigError).option).toBe('edge.forwardAccessToken')
    }
  })
})
