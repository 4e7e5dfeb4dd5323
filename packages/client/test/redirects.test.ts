import { Agent, interceptors, request, type Dispatcher } from 'undici'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'

import { createMeshguardFetch, meshguardInterceptor, type MeshguardClientOptions } from '../src/index.js'
import { ACTOR_HEADER, RecordingIdentity, TXN_HEADER } from './support/fake-identity.js'
import { redirectTo, startRecordingServer, type RecordingServer } from './support/recording-server.js'

// b and c are both mapped callees; outside is not mapped. b redirects, the others answer 200.
let b: RecordingServer
let c: RecordingServer
let outside: RecordingServer
const closers: (() => Promise<void>)[] = []

beforeAll(async () => {
  ;[b, c, outside] = await Promise.all([startRecordingServer(), startRecordingServer(), startRecordingServer()])
})
afterAll(async () => {
  await Promise.all([b.close(), c.close(), outside.close(), ...closers.map(async (close) => close())])
})
afterEach(() => {
  for (const server of [b, c, outside]) {
    server.requests.length = 0
    server.respond((_req, res) => res.writeHead(200).end('ok'))
  }
})

const identityHeaderNames = ['authorization', ACTOR_HEADER, TXN_HEADER]
const identityHeadersOf = (server: RecordingServer, index = 0): string[] =>
  identityHeaderNames.filter((name) => server.requests[index]?.headers[name] !== undefined)

function options(identity: RecordingIdentity, caller = { actor: 'user-token-alice', transactionId: 'txn-9' }): MeshguardClientOptions {
  return { identity, destinations: { [b.origin]: 'spiffe://acme/b', [c.origin]: 'spiffe://acme/c' }, acting: () => caller }
}

/** b redirects /start to the unmapped origin, which redirects back to a path of b it chose. */
function bounceBackThroughOutside(): void {
  b.respond((req, res) => (req.url === '/start' ? redirectTo(`${outside.origin}/bounce`)(req, res) : res.writeHead(200).end()))
  outside.respond(redirectTo(`${b.origin}/admin/delete-everything`, 307))
}

/** What b received: the first hop with identity, the hop back without. */
function expectIdentityOnFirstHopOnly(identity: RecordingIdentity): void {
  expect(b.requests.map((r) => r.path)).toEqual(['/start', '/admin/delete-everything'])
  expect(identityHeadersOf(b, 0)).toEqual(identityHeaderNames)
  expect(identityHeadersOf(b, 1)).toEqual([])
  expect(identity.calls).toHaveLength(1)
}

function agentWith(...chain: Dispatcher.DispatcherComposeInterceptor[]): Dispatcher {
  const agent = new Agent()
  closers.push(async () => agent.close())
  return agent.compose(...chain)
}

async function get(dispatcher: Dispatcher, url: string): Promise<number> {
  const res = await request(url, { dispatcher })
  await res.body.dump()
  return res.statusCode
}

describe('redirects with the undici redirect interceptor (meshguard composed inside it)', () => {
  it('keeps identity on a same-origin redirect, minting again for the same callee', async () => {
    b.respond((req, res) => (req.url === '/start' ? redirectTo(`${b.origin}/final`)(req, res) : res.writeHead(200).end()))
    const identity = new RecordingIdentity()
    const dispatcher = agentWith(meshguardInterceptor(options(identity)), interceptors.redirect({ maxRedirections: 3 }))
    expect(await get(dispatcher, `${b.origin}/start`)).toBe(200)
    expect(b.requests.map((r) => r.path)).toEqual(['/start', '/final'])
    expect(identityHeadersOf(b, 1)).toEqual(identityHeaderNames)
    expect(identity.calls.map((call) => call.audience)).toEqual(['spiffe://acme/b', 'spiffe://acme/b'])
  })

  it('drops identity on a redirect to an unmapped origin', async () => {
    b.respond(redirectTo(`${outside.origin}/landing`))
    const dispatcher = agentWith(meshguardInterceptor(options(new RecordingIdentity())), interceptors.redirect({ maxRedirections: 3 }))
    expect(await get(dispatcher, `${b.origin}/start`)).toBe(200)
    expect(identityHeadersOf(b)).toEqual(identityHeaderNames)
    expect(outside.requests).toHaveLength(1)
    expect(identityHeadersOf(outside)).toEqual([])
  })

  it('drops identity on a redirect to another mapped callee too: the redirecting server chose it', async () => {
    b.respond(redirectTo(`${c.origin}/landing`, 307))
    const identity = new RecordingIdentity()
    const dispatcher = agentWith(meshguardInterceptor(options(identity)), interceptors.redirect({ maxRedirections: 3 }))
    expect(await get(dispatcher, `${b.origin}/start`)).toBe(200)
    expect(c.requests).toHaveLength(1)
    expect(identityHeadersOf(c)).toEqual([])
    expect(identity.calls.map((call) => call.audience)).toEqual(['spiffe://acme/b'])
  })

  it('never carries identity again once the chain has left the first origin, even back to it (T32)', async () => {
    bounceBackThroughOutside()
    const identity = new RecordingIdentity()
    const dispatcher = agentWith(meshguardInterceptor(options(identity)), interceptors.redirect({ maxRedirections: 3 }))
    expect(await get(dispatcher, `${b.origin}/start`)).toBe(200)
    expectIdentityOnFirstHopOnly(identity)
  })

  it('reads the caller once per logical request, not again on the redirect hop', async () => {
    b.respond((req, res) => (req.url === '/start' ? redirectTo(`${b.origin}/final`)(req, res) : res.writeHead(200).end()))
    let reads = 0
    const identity = new RecordingIdentity()
    const dispatcher = agentWith(
      meshguardInterceptor({ ...options(identity), acting: () => ({ actor: `user-${++reads}` }) }),
      interceptors.redirect({ maxRedirections: 3 }),
    )
    await get(dispatcher, `${b.origin}/start`)
    expect(reads).toBe(1)
    expect(b.requests.map((r) => r.headers[ACTOR_HEADER])).toEqual(['user-1', 'user-1'])
  })
})

describe('redirect interceptor composed on the wrong side (inside meshguard)', () => {
  it('does not follow an identity-bearing redirect at all: the 3xx reaches the caller', async () => {
    b.respond(redirectTo(`${outside.origin}/landing`))
    const dispatcher = agentWith(interceptors.redirect({ maxRedirections: 3 }), meshguardInterceptor(options(new RecordingIdentity())))
    expect(await get(dispatcher, `${b.origin}/start`)).toBe(302)
    expect(outside.requests).toHaveLength(0)
  })

  it('still follows redirects of requests that carry no identity', async () => {
    outside.respond((req, res) => (req.url === '/start' ? redirectTo(`${outside.origin}/final`)(req, res) : res.writeHead(200).end()))
    const dispatcher = agentWith(interceptors.redirect({ maxRedirections: 3 }), meshguardInterceptor(options(new RecordingIdentity())))
    expect(await get(dispatcher, `${outside.origin}/start`)).toBe(200)
    expect(outside.requests.map((r) => r.path)).toEqual(['/start', '/final'])
  })
})

describe('redirects followed by createMeshguardFetch', () => {
  it('keeps identity on a same-origin redirect', async () => {
    b.respond((req, res) => (req.url === '/start' ? redirectTo(`${b.origin}/final`)(req, res) : res.writeHead(200).end()))
    const fetch = createMeshguardFetch(options(new RecordingIdentity()))
    closers.push(() => fetch.close())
    const res = await fetch(`${b.origin}/start`)
    await res.arrayBuffer()
    expect(res.redirected).toBe(true)
    expect(identityHeadersOf(b, 1)).toEqual(identityHeaderNames)
  })

  it.each([
    ['an unmapped origin', () => outside],
    ['another mapped callee', () => c],
  ])('drops identity on a redirect to %s', async (_label, target) => {
    b.respond(redirectTo(`${target().origin}/landing`))
    const identity = new RecordingIdentity()
    const fetch = createMeshguardFetch(options(identity))
    closers.push(() => fetch.close())
    const res = await fetch(`${b.origin}/start`)
    await res.arrayBuffer()
    expect(res.status).toBe(200)
    expect(identityHeadersOf(b)).toEqual(identityHeaderNames)
    expect(target().requests).toHaveLength(1)
    expect(identityHeadersOf(target())).toEqual([])
    expect(identity.calls).toHaveLength(1)
  })
})

describe('a redirect chain that leaves and comes back, followed by createMeshguardFetch', () => {
  it('sends the hop back to the first origin without identity (T32)', async () => {
    bounceBackThroughOutside()
    const identity = new RecordingIdentity()
    const fetch = createMeshguardFetch(options(identity))
    closers.push(() => fetch.close())
    const res = await fetch(`${b.origin}/start`)
    await res.arrayBuffer()
    expect(res.status).toBe(200)
    expectIdentityOnFirstHopOnly(identity)
  })
})

describe('retries with the undici retry interceptor (meshguard composed inside it)', () => {
  it('re-sends identity on each attempt for the actor fixed at the first one', async () => {
    let attempts = 0
    b.respond((_req, res) => (++attempts === 1 ? res.writeHead(503).end() : res.writeHead(200).end('ok')))
    let reads = 0
    const dispatcher = agentWith(
      meshguardInterceptor({ ...options(new RecordingIdentity()), acting: () => ({ actor: `user-${++reads}` }) }),
      interceptors.retry({ maxRetries: 2, minTimeout: 1, timeoutFactor: 1, statusCodes: [503], methods: ['GET'] }),
    )
    expect(await get(dispatcher, `${b.origin}/flaky`)).toBe(200)
    expect(reads).toBe(1)
    expect(b.requests.map((r) => [r.path, r.headers[ACTOR_HEADER], r.headers.authorization])).toEqual([
      ['/flaky', 'user-1', 'Bearer workload-for:spiffe://acme/b'],
      ['/flaky', 'user-1', 'Bearer workload-for:spiffe://acme/b'],
    ])
  })
})
