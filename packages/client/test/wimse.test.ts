/**
 * The client with the WIMSE minting side: every attempt to a mapped callee gets the WIT and a fresh
 * WPT whose `aud` is the target URI without query (or the destination's `wptAudience`); unmapped
 * origins and redirect hops get neither, and a caller-set WIT header never leaves.
 */
import { Agent, interceptors, request, type Dispatcher } from 'undici'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { createWimseIdentity, staticWitSource, type WimseIdentity } from '@meshguard/core/wimse'

import { meshguardInterceptor, type MeshguardClientOptions } from '../src/index.js'
import { redirectTo, startRecordingServer, type RecordingServer } from './support/recording-server.js'
import { createWimseFixture } from '../../../test/support/wimse.js'

let b: RecordingServer
let outside: RecordingServer
let identity: WimseIdentity
let wit: string
const closers: (() => Promise<void>)[] = []

beforeAll(async () => {
  ;[b, outside] = await Promise.all([startRecordingServer(), startRecordingServer()])
  const credential = await createWimseFixture().credential('orders')
  wit = credential.wit
  identity = createWimseIdentity({ source: staticWitSource(credential), otherTokens: ['x-context'] })
})
afterAll(async () => {
  await Promise.all([b.close(), outside.close(), ...closers.map(async (close) => close())])
})
afterEach(() => {
  for (const server of [b, outside]) {
    server.requests.length = 0
    server.respond((_req, res) => res.writeHead(200).end('ok'))
  }
})

function options(destinations: MeshguardClientOptions['destinations'] = { [b.origin]: 'spiffe://example.org/ns/default/sa/b' }): MeshguardClientOptions {
  return { identity, destinations, acting: () => undefined }
}

function agentWith(...chain: Dispatcher.DispatcherComposeInterceptor[]): Dispatcher {
  const agent = new Agent()
  closers.push(async () => agent.close())
  return agent.compose(...chain)
}

async function get(dispatcher: Dispatcher, url: string, headers: Record<string, string> = {}): Promise<number> {
  const res = await request(url, { dispatcher, headers })
  await res.body.dump()
  return res.statusCode
}

const claimsOf = (authorization: unknown): Record<string, unknown> =>
  JSON.parse(Buffer.from(String(authorization).slice('WPT '.length).split('.')[1] as string, 'base64url').toString('utf8')) as Record<string, unknown>

describe('the client with a WIMSE identity', () => {
  it('sends the WIT and a proof for the target URI without its query; a caller-set WIT is replaced', async () => {
    const dispatcher = agentWith(meshguardInterceptor(options()))
    expect(await get(dispatcher, `${b.origin}/reviews/7?page=2#x`, { 'workload-identity-token': 'forged', 'x-context': 'ctx' })).toBe(200)
    const [seen] = b.requests
    expect(seen?.headers['workload-identity-token']).toBe(wit)
    const claims = claimsOf(seen?.headers.authorization)
    expect(claims['aud']).toBe(`${b.origin}/reviews/7`)
    expect(Object.keys(claims['oth'] as object)).toEqual(['x-context'])
  })

  it('uses a destination\'s configured WPT audience', async () => {
    const dispatcher = agentWith(meshguardInterceptor(options({ [b.origin]: { audience: 'spiffe://example.org/ns/default/sa/b', wptAudience: 'spiffe://example.org/ns/default/sa/b' } })))
    expect(await get(dispatcher, `${b.origin}/x`)).toBe(200)
    expect(claimsOf(b.requests[0]?.headers.authorization)['aud']).toBe('spiffe://example.org/ns/default/sa/b')
  })

  it('signs a fresh proof for every attempt, retries included', async () => {
    let attempts = 0
    b.respond((_req, res) => (++attempts === 1 ? res.writeHead(503).end() : res.writeHead(200).end('ok')))
    const dispatcher = agentWith(meshguardInterceptor(options()), interceptors.retry({ maxRetries: 2, minTimeout: 1, timeoutFactor: 1, statusCodes: [503], methods: ['GET'] }))
    expect(await get(dispatcher, `${b.origin}/flaky`)).toBe(200)
    const jtis = b.requests.map((r) => claimsOf(r.headers.authorization)['jti'])
    expect(jtis).toHaveLength(2)
    expect(new Set(jtis).size).toBe(2)
  })

  it('sends neither the WIT nor a proof to an unmapped origin or after a redirect off the first origin', async () => {
    b.respond(redirectTo(`${outside.origin}/landing`))
    const dispatcher = agentWith(meshguardInterceptor(options()), interceptors.redirect({ maxRedirections: 3 }))
    expect(await get(dispatcher, `${b.origin}/start`, { 'workload-identity-token': 'forged' })).toBe(200)
    expect(b.requests[0]?.headers['workload-identity-token']).toBe(wit)
    expect(outside.requests).toHaveLength(1)
    expect(outside.requests[0]?.headers['workload-identity-token']).toBeUndefined()
    expect(outside.requests[0]?.headers.authorization).toBeUndefined()
    outside.requests.length = 0
    expect(await get(dispatcher, `${outside.origin}/direct`, { 'workload-identity-token': 'forged' })).toBe(200)
    expect(outside.requests[0]?.headers['workload-identity-token']).toBeUndefined()
  })
})
