import { MintError } from '@meshguard/core'
import { AsyncLocalStorage } from 'node:async_hooks'

import { Agent, Request, request } from 'undici'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

import { createMeshguardFetch } from '../src/index.js'
import { ACTOR_HEADER, RecordingIdentity } from './support/fake-identity.js'
import { startRecordingServer, type RecordingServer } from './support/recording-server.js'

let mapped: RecordingServer
let unmapped: RecordingServer

beforeAll(async () => {
  ;[mapped, unmapped] = await Promise.all([startRecordingServer(), startRecordingServer()])
})
afterAll(async () => {
  await Promise.all([mapped.close(), unmapped.close()])
})

describe('createMeshguardFetch', () => {
  it('sends minted identity with undici fetch, for string, URL and Request inputs', async () => {
    const identity = new RecordingIdentity()
    const fetch = createMeshguardFetch({ identity, destinations: { [mapped.origin]: 'spiffe://acme/b' }, acting: () => ({ actor: 'alice' }) })
    try {
      for (const input of [`${mapped.origin}/s`, new URL(`${mapped.origin}/u`), new Request(`${mapped.origin}/r`)]) {
        const res = await fetch(input)
        expect(await res.text()).toBe('ok')
      }
      expect(mapped.requests.map((r) => [r.path, r.headers.authorization, r.headers[ACTOR_HEADER]])).toEqual([
        ['/s', 'Bearer workload-for:spiffe://acme/b', 'alice'],
        ['/u', 'Bearer workload-for:spiffe://acme/b', 'alice'],
        ['/r', 'Bearer workload-for:spiffe://acme/b', 'alice'],
      ])
    } finally {
      await fetch.close()
    }
  })

  it('rejects with the MintError itself, not fetch\'s TypeError, and sends nothing', async () => {
    const identity = new RecordingIdentity()
    identity.failWith('token_endpoint_unavailable')
    const fetch = createMeshguardFetch({ identity, destinations: { [mapped.origin]: 'aud' } })
    const before = mapped.requests.length
    try {
      const err: unknown = await fetch(`${mapped.origin}/x`).catch((e: unknown) => e)
      expect(err).toBeInstanceOf(MintError)
      expect(err).toMatchObject({ reason: 'token_endpoint_unavailable' })
      expect(mapped.requests.length).toBe(before)
    } finally {
      await fetch.close()
    }
  })

  it('refuses unmapped origins when configured to, before anything is sent', async () => {
    const fetch = createMeshguardFetch({ identity: new RecordingIdentity(), destinations: { [mapped.origin]: 'aud' }, onUnmapped: 'refuse' })
    try {
      await expect(fetch(`${unmapped.origin}/x`)).rejects.toMatchObject({ reason: 'destination_unmapped' })
      expect(unmapped.requests).toHaveLength(0)
    } finally {
      await fetch.close()
    }
  })

  it('ignores a dispatcher passed per call, so a call cannot bypass the interceptor', async () => {
    const other = new Agent()
    const fetch = createMeshguardFetch({ identity: new RecordingIdentity(), destinations: { [mapped.origin]: 'aud' } })
    try {
      await (await fetch(`${mapped.origin}/bypass`, { dispatcher: other })).arrayBuffer()
      expect(mapped.requests.at(-1)?.headers.authorization).toBe('Bearer workload-for:aud')
    } finally {
      await Promise.all([fetch.close(), other.close()])
    }
  })

  it('composes onto a dispatcher passed in and leaves closing it to its owner', async () => {
    const base = new Agent()
    const fetch = createMeshguardFetch({ identity: new RecordingIdentity(), destinations: { [mapped.origin]: 'aud' }, dispatcher: base })
    await (await fetch(`${mapped.origin}/own`)).arrayBuffer()
    await fetch.close()
    expect(base.closed).toBe(false)
    await base.close()
  })

  it('does not apply a finished call\'s plan to a later request made in an async context it left behind', async () => {
    // Contexts outlive calls: e.g. a socket opened during a fetch keeps that fetch's context for later events.
    const base = new Agent()
    const leftBehind: (<R>(fn: () => R) => R)[] = []
    const dispatchOnBase = base.dispatch.bind(base)
    base.dispatch = (opts, handler) => {
      leftBehind.push(AsyncLocalStorage.snapshot())
      return dispatchOnBase(opts, handler)
    }
    let user = 'alice'
    const fetch = createMeshguardFetch({
      identity: new RecordingIdentity(),
      destinations: { [mapped.origin]: 'aud' },
      acting: () => ({ actor: user }),
      dispatcher: base,
    })
    try {
      await (await fetch(`${mapped.origin}/as-alice`)).arrayBuffer()
      user = 'bob'
      const later = await leftBehind[0]!(async () => request(`${mapped.origin}/later`, { dispatcher: fetch.dispatcher }))
      await later.body.dump()
      expect(mapped.requests.slice(-2).map((r) => [r.path, r.headers[ACTOR_HEADER]])).toEqual([
        ['/as-alice', 'alice'],
        ['/later', 'bob'],
      ])
    } finally {
      await fetch.close()
      await base.close()
    }
  })
})
