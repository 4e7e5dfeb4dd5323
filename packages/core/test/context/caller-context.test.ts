import { setTimeout as sleep } from 'node:timers/promises'
import { beforeAll, describe, expect, it } from 'vitest'
import { CallerContext, callerContext } from '../../src/context/index.js'
import { ConfigError, MintError } from '../../src/errors.js'
import { actorTokenOf, createIdentityVerifier, type VerifiedCaller } from '../../src/identity/index.js'
import { createIdentityFixture, serviceId, type IdentityFixture } from '../../../../test/support/identity.js'

describe('callerContext', () => {
  let ids: IdentityFixture
  let caller: VerifiedCaller
  beforeAll(async () => {
    ids = await createIdentityFixture({ services: ['gateway', 'employee-service', 'review-service'] })
    const verifier = createIdentityVerifier(ids.verifierOptions('employee-service'))
    caller = await verifier.verify(await ids.headers({ from: 'gateway', to: 'employee-service', actor: 'alice', transactionId: 'txn-7' }))
  })

  it('carries the caller through async work and nowhere else', async () => {
    expect(callerContext.current()).toBeUndefined()
    expect(callerContext.mode()).toBe('none')
    const seen = await callerContext.run(caller, async () => {
      await sleep(1)
      return { current: callerContext.current(), mode: callerContext.mode() }
    })
    expect(seen).toEqual({ current: caller, mode: 'caller' })
    expect(callerContext.current()).toBeUndefined()
  })

  it('keeps concurrent requests apart', async () => {
    const other = { ...caller, transactionId: 'txn-other' }
    const [a, b] = await Promise.all([
      callerContext.run(caller, async () => {
        await sleep(5)
        return callerContext.outbound().transactionId
      }),
      callerContext.run(other, async () => {
        await sleep(1)
        return callerContext.outbound().transactionId
      }),
    ])
    expect([a, b]).toEqual(['txn-7', 'txn-other'])
  })

  it('tells the client what to forward, and headersFor accepts it as is', async () => {
    const outbound = callerContext.run(caller, () => callerContext.outbound())
    expect(outbound).toEqual({ caller, transactionId: 'txn-7' })
    const headers = await ids.workloadIdentity('employee-service').headersFor({ audience: serviceId('review-service'), ...outbound })
    expect(headers['x-meshguard-actor']).toBe(actorTokenOf(caller))
    expect(headers['x-meshguard-txn']).toBe('txn-7')
  })

  it('lets a background job act as the service, dropping the user it was started for', async () => {
    const inJob = await callerContext.run(caller, () =>
      callerContext.runAsService(
        async () => {
          await sleep(1)
          return { mode: callerContext.mode(), current: callerContext.current(), outbound: callerContext.outbound() }
        },
        { transactionId: 'job-1' },
      ),
    )
    expect(inJob).toEqual({ mode: 'service', current: undefined, outbound: { transactionId: 'job-1' } })
    const headers = await ids.workloadIdentity('employee-service').headersFor({ audience: serviceId('review-service'), ...inJob.outbound })
    expect(headers['x-meshguard-actor']).toBeUndefined()
  })

  it('lets a background job act for an explicitly given actor token', async () => {
    const fresh = await ids.mintActorToken('ed')
    const outbound = callerContext.runWithActor(fresh, () => callerContext.outbound())
    expect(outbound).toEqual({ actor: fresh, transactionId: undefined })
    const headers = await ids.workloadIdentity('employee-service').headersFor({ audience: serviceId('review-service'), ...outbound })
    const atReview = createIdentityVerifier(ids.verifierOptions('review-service'))
    expect((await atReview.verify(headers, { actor: 'required' })).actor?.id).toBe('ed')
    expect(() => callerContext.runWithActor('', () => undefined)).toThrow(ConfigError)
  })

  it('never hands out a user token that has expired', () => {
    const err = (() => {
      try {
        callerContext.run(caller, () => callerContext.outbound(caller.expiresAt + 1))
      } catch (e) {
        return e
      }
      return undefined
    })()
    expect(err).toBeInstanceOf(MintError)
    expect((err as MintError).reason).toBe('actor_expired')
  })

  it('refuses to run without a verified caller, and separate contexts do not share state', () => {
    expect(() => callerContext.run(undefined as never, () => undefined)).toThrow(ConfigError)
    const mine = new CallerContext()
    expect(mine.run(caller, () => callerContext.current())).toBeUndefined()
  })
})

describe('callerContext: carrying starts with the first reader', () => {
  let caller: VerifiedCaller
  beforeAll(async () => {
    const ids = await createIdentityFixture({ services: ['gateway', 'employee-service'] })
    const verifier = createIdentityVerifier(ids.verifierOptions('employee-service'))
    caller = await verifier.verify(await ids.headers({ from: 'gateway', to: 'employee-service', actor: 'alice', transactionId: 'txn-9' }))
  })

  const reasonOf = (fn: () => unknown): string | undefined => {
    try {
      fn()
    } catch (err) {
      return err instanceof MintError ? err.reason : String(err)
    }
    return undefined
  }

  it('does not carry scopes until something reads them, but serves the synchronous part of a run', () => {
    const ctx = new CallerContext()
    expect(ctx.enabled).toBe(false)
    expect(ctx.run(caller, () => ctx.enabled)).toBe(false)
    expect(ctx.run(caller, () => ctx.current())).toBe(caller)
    expect(ctx.current()).toBeUndefined()
  })

  it('carries through async work once enabled before serving, and a call outside any scope goes as the service', async () => {
    const ctx = new CallerContext()
    ctx.enable()
    const seen = await ctx.run(caller, async () => {
      await sleep(1)
      return ctx.outbound().transactionId
    })
    expect(seen).toBe('txn-9')
    expect(ctx.outbound()).toEqual({})
  })

  it('refuses calls without a scope once carrying started after requests were served', async () => {
    const ctx = new CallerContext()
    // The reader appears inside a request that is already being served without carrying.
    const afterAwait = await ctx.run(caller, async () => {
      await sleep(1)
      return reasonOf(() => ctx.outbound())
    })
    expect(afterAwait).toBe('caller_context_unavailable')
    expect(reasonOf(() => ctx.outbound())).toBe('caller_context_unavailable')
    // Requests served from now on are carried, and explicit background scopes still work.
    const later = await ctx.run(caller, async () => {
      await sleep(1)
      return ctx.outbound().transactionId
    })
    expect(later).toBe('txn-9')
    expect(ctx.runAsService(() => ctx.outbound(), { transactionId: 'job-2' })).toEqual({ transactionId: 'job-2' })
  })
})

