import { ConfigError, MintError } from '@meshguard/core'
import { Agent, request, type Dispatcher } from 'undici'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'

import { meshguardInterceptor, type MeshguardClientOptions, type OutboundActing } from '../src/index.js'
import { ACTOR_HEADER, RecordingIdentity, TXN_HEADER } from './support/fake-identity.js'
import { startRecordingServer, type RecordingServer } from './support/recording-server.js'

let mapped: RecordingServer
let unmapped: RecordingServer
const agents: Agent[] = []

beforeAll(async () => {
  mapped = await startRecordingServer()
  unmapped = await startRecordingServer()
})
afterAll(async () => {
  await Promise.all([mapped.close(), unmapped.close(), ...agents.map(async (a) => a.close())])
})
afterEach(() => {
  mapped.requests.length = 0
  unmapped.requests.length = 0
})

function clientFor(options: Partial<MeshguardClientOptions> & { identity: RecordingIdentity }): Dispatcher {
  const agent = new Agent()
  agents.push(agent)
  return agent.compose(meshguardInterceptor({ destinations: { [mapped.origin]: 'spiffe://acme/b' }, ...options }))
}

async function send(dispatcher: Dispatcher, url: string, headers?: Record<string, string>): Promise<number> {
  const res = await request(url, { dispatcher, ...(headers ? { headers } : {}) })
  await res.body.dump()
  return res.statusCode
}

describe('meshguardInterceptor', () => {
  it('sends a token minted for the mapped callee, with the caller actor and transaction id', async () => {
    const identity = new RecordingIdentity()
    const caller: OutboundActing = { actor: 'user-token-alice', transactionId: 'txn-1' }
    const dispatcher = clientFor({ identity, acting: () => caller })
    expect(await send(dispatcher, `${mapped.origin}/reviews/1`)).toBe(200)
    expect(identity.calls).toEqual([{ audience: 'spiffe://acme/b', caller: undefined, actor: 'user-token-alice', transactionId: 'txn-1' }])
    const [seen] = mapped.requests
    expect(seen?.headers.authorization).toBe('Bearer workload-for:spiffe://acme/b')
    expect(seen?.headers[ACTOR_HEADER]).toBe('user-token-alice')
    expect(seen?.headers[TXN_HEADER]).toBe('txn-1')
  })

  it('acts as the service itself when there is no caller, dropping any actor header set by hand', async () => {
    const identity = new RecordingIdentity()
    const dispatcher = clientFor({ identity, acting: () => undefined })
    await send(dispatcher, `${mapped.origin}/jobs`, { 'X-Meshguard-Actor': 'stale-user-token', Authorization: 'Bearer forged' })
    expect(identity.calls).toEqual([{ audience: 'spiffe://acme/b' }])
    const [seen] = mapped.requests
    expect(seen?.headers[ACTOR_HEADER]).toBeUndefined()
    expect(seen?.headers.authorization).toBe('Bearer workload-for:spiffe://acme/b')
  })

  it('sends nothing of identity to an unmapped origin and never mints for it', async () => {
    const identity = new RecordingIdentity()
    const dispatcher = clientFor({ identity, acting: () => ({ actor: 'user-token-alice', transactionId: 'txn-1' }) })
    await send(dispatcher, `${unmapped.origin}/elsewhere`, { 'x-meshguard-actor': 'user-token-alice', 'x-api-key': 'k' })
    expect(identity.calls).toEqual([])
    const [seen] = unmapped.requests
    expect(seen?.headers[ACTOR_HEADER]).toBeUndefined()
    expect(seen?.headers[TXN_HEADER]).toBeUndefined()
    expect(seen?.headers.authorization).toBeUndefined()
    expect(seen?.headers['x-api-key']).toBe('k')
  })

  it("leaves a caller's own authorization to an unmapped third party alone", async () => {
    const dispatcher = clientFor({ identity: new RecordingIdentity() })
    await send(dispatcher, `${unmapped.origin}/api`, { authorization: 'Bearer third-party-key' })
    expect(unmapped.requests[0]?.headers.authorization).toBe('Bearer third-party-key')
  })

  it("refuses unmapped origins with onUnmapped 'refuse' before anything is sent", async () => {
    const dispatcher = clientFor({ identity: new RecordingIdentity(), onUnmapped: 'refuse' })
    const failure = request(`${unmapped.origin}/x`, { dispatcher })
    await expect(failure).rejects.toBeInstanceOf(MintError)
    await expect(failure).rejects.toMatchObject({ code: 'ERR_AUTHZ_MINT_FAILED', reason: 'destination_unmapped' })
    expect(unmapped.requests).toHaveLength(0)
  })

  it('fails with the MintError of the minting side and sends nothing', async () => {
    const identity = new RecordingIdentity()
    identity.failWith('signing_key_missing')
    const dispatcher = clientFor({ identity })
    const failure = request(`${mapped.origin}/x`, { dispatcher })
    await expect(failure).rejects.toBeInstanceOf(MintError)
    await expect(failure).rejects.toMatchObject({ reason: 'signing_key_missing' })
    expect(mapped.requests).toHaveLength(0)
  })

  it('wraps any other minting failure into MintError mint_failed, keeping the cause', async () => {
    const identity = new RecordingIdentity()
    const cause = new Error('token endpoint down')
    identity.failure = cause
    const dispatcher = clientFor({ identity })
    const err: unknown = await request(`${mapped.origin}/x`, { dispatcher }).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(MintError)
    expect(err).toMatchObject({ reason: 'mint_failed', cause })
    expect(mapped.requests).toHaveLength(0)
  })

  it('rejects a minting side that returns a non-string header value', async () => {
    const identity = { headersFor: async () => ({ authorization: 42 }) as unknown as Record<string, string> }
    const agent = new Agent()
    agents.push(agent)
    const dispatcher = agent.compose(meshguardInterceptor({ identity, destinations: { [mapped.origin]: 'aud' } }))
    await expect(request(`${mapped.origin}/x`, { dispatcher })).rejects.toMatchObject({ reason: 'mint_invalid_result' })
    expect(mapped.requests).toHaveLength(0)
  })

  it('reads the caller at dispatch time, so each request acts for the caller being served then', async () => {
    const identity = new RecordingIdentity()
    let current: OutboundActing | undefined = { actor: 'alice' }
    const dispatcher = clientFor({ identity, acting: () => current })
    await send(dispatcher, `${mapped.origin}/1`)
    current = { actor: 'bob' }
    await send(dispatcher, `${mapped.origin}/2`)
    current = undefined
    await send(dispatcher, `${mapped.origin}/3`)
    expect(mapped.requests.map((r) => r.headers[ACTOR_HEADER])).toEqual(['alice', 'bob', undefined])
  })

  it('fails closed with MintError acting_unknown when the acting hook throws, sending nothing', async () => {
    const identity = new RecordingIdentity()
    const dispatcher = clientFor({
      identity,
      acting: () => {
        throw new Error('context store unavailable')
      },
    })
    await expect(request(`${mapped.origin}/x`, { dispatcher })).rejects.toMatchObject({ code: 'ERR_AUTHZ_MINT_FAILED', reason: 'acting_unknown' })
    expect(identity.calls).toEqual([])
    expect(mapped.requests).toHaveLength(0)
  })

  it('does not ask whom a call acts for when it goes to an unmapped origin', async () => {
    const dispatcher = clientFor({
      identity: new RecordingIdentity(),
      acting: () => {
        throw new Error('must not be read')
      },
    })
    expect(await send(dispatcher, `${unmapped.origin}/third-party`)).toBe(200)
  })

  it('maps origins given as URL objects or in any letter case', async () => {
    const identity = new RecordingIdentity()
    const dispatcher = clientFor({ identity })
    const viaUrl = await dispatcher.request({ origin: new URL(mapped.origin), path: '/url', method: 'GET' })
    await viaUrl.body.dump()
    const viaUpper = await dispatcher.request({ origin: mapped.origin.toUpperCase(), path: '/upper', method: 'GET' })
    await viaUpper.body.dump()
    expect(mapped.requests.map((r) => [r.path, r.headers.authorization])).toEqual([
      ['/url', 'Bearer workload-for:spiffe://acme/b'],
      ['/upper', 'Bearer workload-for:spiffe://acme/b'],
    ])
  })

  it('treats a dispatch without an origin as unmapped', async () => {
    const identity = new RecordingIdentity()
    const agent = new Agent()
    agents.push(agent)
    const seen: Dispatcher.DispatchOptions[] = []
    const interceptor = meshguardInterceptor({ identity, destinations: { [mapped.origin]: 'aud' }, onUnmapped: 'refuse' })
    const dispatch = interceptor((opts) => {
      seen.push(opts)
      return true
    })
    const errors: Error[] = []
    dispatch({ path: '/no-origin', method: 'GET' }, { onResponseError: (_c, err) => errors.push(err) })
    expect(seen).toEqual([])
    expect(errors[0]).toMatchObject({ reason: 'destination_unmapped' })
  })

  it('validates its options at construction', () => {
    const identity = new RecordingIdentity()
    expect(() => meshguardInterceptor({ identity: {} as never, destinations: {} })).toThrow(ConfigError)
    expect(() => meshguardInterceptor({ identity, destinations: null as never })).toThrow(
      expect.objectContaining({ option: 'destinations' }),
    )
    expect(() => meshguardInterceptor({ identity, destinations: {}, onUnmapped: 'allow' as never })).toThrow(
      expect.objectContaining({ option: 'onUnmapped' }),
    )
    expect(() => meshguardInterceptor({ identity, destinations: {}, identityHeaders: ['bad header'] })).toThrow(
      expect.objectContaining({ option: 'identityHeaders[0]' }),
    )
    expect(() => meshguardInterceptor({ identity, destinations: {}, acting: 'alice' as never })).toThrow(
      expect.objectContaining({ option: 'acting' }),
    )
  })

  it('strips custom identity header names', async () => {
    const dispatcher = clientFor({ identity: new RecordingIdentity(), identityHeaders: ['X-On-Behalf-Of'] })
    await send(dispatcher, `${unmapped.origin}/x`, { 'x-on-behalf-of': 'user-token' })
    expect(unmapped.requests[0]?.headers['x-on-behalf-of']).toBeUndefined()
  })
})
