import { Agent, request } from 'undici'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

import { createMeshguardFetch, meshguardInterceptor, type OutboundHeadersRequest, type OutboundIdentity } from '../src/index.js'
import { startRecordingServer, type RecordingServer } from './support/recording-server.js'

let server: RecordingServer

beforeAll(async () => {
  server = await startRecordingServer()
})
afterAll(async () => {
  await server.close()
})

/** A minting side whose answers are released by hand, to abort a call while it is minting. */
class GatedIdentity implements OutboundIdentity {
  readonly waiting: (() => void)[] = []
  async headersFor(_request: OutboundHeadersRequest): Promise<Record<string, string>> {
    await new Promise<void>((resolve) => this.waiting.push(resolve))
    return { authorization: 'Bearer gated' }
  }
  async untilWaiting(): Promise<void> {
    while (this.waiting.length === 0) await new Promise((resolve) => setImmediate(resolve))
  }
}

describe('a call aborted while its token is being minted', () => {
  it('is never sent (undici request)', async () => {
    const identity = new GatedIdentity()
    const agent = new Agent()
    const dispatcher = agent.compose(meshguardInterceptor({ identity, destinations: { [server.origin]: 'aud' } }))
    const controller = new AbortController()
    const pending = request(`${server.origin}/aborted-request`, { dispatcher, signal: controller.signal })
    await identity.untilWaiting()
    controller.abort()
    identity.waiting.shift()?.()
    await expect(pending).rejects.toMatchObject({ name: 'AbortError' })
    // A later call on the same dispatcher is the marker that everything before it was handled.
    const after = request(`${server.origin}/after`, { dispatcher })
    await identity.untilWaiting()
    identity.waiting.shift()?.()
    await (await after).body.dump()
    expect(server.requests.map((r) => r.path)).not.toContain('/aborted-request')
    await agent.close()
  })

  it('is never sent (createMeshguardFetch)', async () => {
    const identity = new GatedIdentity()
    const fetch = createMeshguardFetch({ identity, destinations: { [server.origin]: 'aud' } })
    const controller = new AbortController()
    const pending = fetch(`${server.origin}/aborted-fetch`, { signal: controller.signal })
    await identity.untilWaiting()
    controller.abort()
    identity.waiting.shift()?.()
    await expect(pending).rejects.toMatchObject({ name: 'AbortError' })
    const after = fetch(`${server.origin}/after-fetch`)
    await identity.untilWaiting()
    identity.waiting.shift()?.()
    await (await after).arrayBuffer()
    expect(server.requests.map((r) => r.path)).not.toContain('/aborted-fetch')
    await fetch.close()
  })
})
