/** Creating the client makes core's caller context carry scopes from the first request on. */
import { callerContext } from '@meshguard/core'
import { describe, expect, it } from 'vitest'
import { createMeshguardFetch } from '../src/index.js'

describe('@meshguard/client and the caller context', () => {
  it('starts carrying when a client that reads the context is created, and not for one given `acting`', async () => {
    const identity = { headersFor: async () => ({}) }
    const explicit = createMeshguardFetch({ identity, destinations: {}, acting: () => ({}) })
    expect(callerContext.enabled).toBe(false)
    const implicit = createMeshguardFetch({ identity, destinations: {} })
    expect(callerContext.enabled).toBe(true)
    await Promise.all([explicit.close(), implicit.close()])
  })
})
