import { beforeAll, describe, expect, it } from 'vitest'
import { ConfigError, MeshguardError } from '../../src/errors.js'
import { createIdentityVerifier, headerViewOf, SINGLE_VALUE_HEADERS } from '../../src/identity/index.js'
import { createIdentityFixture, type IdentityFixture } from '../../../../test/support/identity.js'

describe('verifyNow', () => {
  let ids: IdentityFixture
  beforeAll(async () => {
    ids = await createIdentityFixture({ services: ['svc', 'callee'] })
  })

  it('answers synchronously once the trusted keys are imported: fresh tokens (inline checks) and cached ones', async () => {
    const verifier = createIdentityVerifier(ids.verifierOptions('callee', { signatureCheck: 'inline' }))
    // The first use of a key imports it (asynchronously): that answer is a promise.
    const first = verifier.verifyNow(await ids.headers({ from: 'svc', to: 'callee', actor: 'alice' }))
    expect(first).toBeInstanceOf(Promise)
    await first
    const fresh = verifier.verifyNow(await ids.headers({ from: 'svc', to: 'callee', actor: 'alice' }))
    expect(fresh).not.toBeInstanceOf(Promise)
    expect(fresh).toMatchObject({ principal: { attr: { act: { user: { id: 'alice' } } } } })
    const headers = await ids.headers({ from: 'svc', to: 'callee', actor: 'alice' })
    await verifier.verifyNow(headers)
    const cached = verifier.verifyNow(headers)
    expect(cached).not.toBeInstanceOf(Promise)
    expect(verifier.stats().cacheHits).toBeGreaterThanOrEqual(1)
  })

  it('checks new signatures on the threadpool by default, and answers a cached pair synchronously', async () => {
    const verifier = createIdentityVerifier(ids.verifierOptions('callee'))
    await verifier.verify(await ids.headers({ from: 'svc', to: 'callee', actor: 'alice' }))
    const headers = await ids.headers({ from: 'svc', to: 'callee', actor: 'alice' })
    const fresh = verifier.verifyNow(headers)
    expect(fresh).toBeInstanceOf(Promise)
    expect(await fresh).toMatchObject({ principal: { attr: { act: { user: { id: 'alice' } } } } })
    expect(verifier.verifyNow(headers)).not.toBeInstanceOf(Promise)
    // A forged signature is refused the same way off the event loop.
    const forged = { ...headers, authorization: `${headers['authorization']?.slice(0, -4)}AAAA` }
    await expect(verifier.verify(forged)).rejects.toMatchObject({ reason: 'signature_invalid' })
    expect(() => createIdentityVerifier(ids.verifierOptions('callee', { signatureCheck: 'worker' as 'inline' }))).toThrow(ConfigError)
  })

  it('throws synchronously where verify rejects, with the same reason', async () => {
    const verifier = createIdentityVerifier(ids.verifierOptions('callee', { signatureCheck: 'inline' }))
    await verifier.verify(await ids.headers({ from: 'svc', to: 'callee' }))
    const forged = await ids.headers({ from: 'svc', to: 'callee' })
    const bad = { ...forged, authorization: `${forged['authorization']?.slice(0, -4)}AAAA` }
    let thrown: unknown
    try {
      expect(verifier.verifyNow(bad)).not.toBeInstanceOf(Promise) // it throws before this
    } catch (err) {
      thrown = err
    }
    expect(thrown).toBeInstanceOf(MeshguardError)
    expect((thrown as MeshguardError).reason).toBe('signature_invalid')
    await expect(verifier.verify(bad)).rejects.toMatchObject({ reason: 'signature_invalid' })
  })
})

describe('headerViewOf', () => {
  const request = (raw: string[]) => {
    const headers: Record<string, string> = {}
    for (let i = 0; i < raw.length; i += 2) headers[(raw[i] as string).toLowerCase()] ??= raw[i + 1] as string
    const distinct: Record<string, string[]> = {}
    for (let i = 0; i < raw.length; i += 2) (distinct[(raw[i] as string).toLowerCase()] ??= []).push(raw[i + 1] as string)
    return { headers, rawHeaders: raw, headersDistinct: distinct }
  }

  it('uses Node\'s headers when Authorization came once', () => {
    const message = request(['Host', 'x', 'Authorization', 'Bearer a', 'X-Meshguard-Actor', 'b'])
    expect(headerViewOf(message)).toBe(message.headers)
  })

  it('uses every value when Authorization came twice, in any spelling', () => {
    const message = request(['authorization', 'Bearer a', 'AUTHORIZATION', 'Bearer b'])
    expect(headerViewOf(message)).toBe(message.headersDistinct)
    expect(headerViewOf(message)['authorization']).toEqual(['Bearer a', 'Bearer b'])
  })
})

describe('identity header names', () => {
  it('refuses actor and transaction headers Node keeps one value of', async () => {
    const ids = await createIdentityFixture({ services: ['svc', 'callee'] })
    expect(SINGLE_VALUE_HEADERS.has('cookie')).toBe(true)
    for (const name of ['cookie', 'User-Agent', 'proxy-authorization']) {
      expect(() => createIdentityVerifier(ids.verifierOptions('callee', { actorHeader: name }))).toThrow(ConfigError)
      expect(() => createIdentityVerifier(ids.verifierOptions('callee', { transactionHeader: name }))).toThrow(ConfigError)
    }
  })
})

describe('fresh workload tokens of one session', () => {
  it('share one frozen principal while nothing in it changes, and a custom actor mapping runs every time', async () => {
    const ids = await createIdentityFixture({ services: ['svc', 'callee'] })
    const verifier = createIdentityVerifier(ids.verifierOptions('callee'))
    const actor = await ids.mintActorToken('alice')
    const hop = async (): Promise<Record<string, string>> => ({
      authorization: `Bearer ${await ids.mintWorkloadToken('svc', { audience: 'callee', actorToken: actor })}`,
      'x-meshguard-actor': actor,
    })
    const first = await verifier.verify(await hop())
    const second = await verifier.verify(await hop())
    expect(second.workload.claims['jti']).not.toBe(first.workload.claims['jti'])
    expect(second.principal).toBe(first.principal)
    expect(Object.isFrozen(second.principal.attr)).toBe(true)
    // The same workload without the actor is another principal.
    const alone = await verifier.verify(await ids.headers({ from: 'svc', to: 'callee' }))
    expect(alone.principal).not.toBe(first.principal)
    expect(alone.principal.attr).not.toHaveProperty('act')

    let mapped = 0
    const custom = createIdentityVerifier(
      ids.verifierOptions('callee', {
        claims: {
          mapActor: (claims) => {
            mapped++
            return { id: String(claims['sub']), type: 'user', roles: [], attr: {} }
          },
        },
      }),
    )
    await custom.verify(await hop())
    await custom.verify(await hop())
    expect(mapped).toBe(2)
  })
})

describe('the transaction id of a chain that starts here', () => {
  it('is the id the caller passes, unless the token or the header already carries one', async () => {
    const ids = await createIdentityFixture({ services: ['svc', 'callee'] })
    const verifier = createIdentityVerifier(ids.verifierOptions('callee'))
    const plain = await verifier.verify(await ids.headers({ from: 'svc', to: 'callee' }), { newTransactionId: 'decision-1' })
    expect(plain.transactionId).toBe('decision-1')
    const carried = await verifier.verify(await ids.headers({ from: 'svc', to: 'callee', transactionId: 'txn-upstream' }), { newTransactionId: 'decision-2' })
    expect(carried.transactionId).toBe('txn-upstream')
    const random = await verifier.verify(await ids.headers({ from: 'svc', to: 'callee' }))
    expect(random.transactionId).toMatch(/^[0-9a-f-]{36}$/)
  })
})
