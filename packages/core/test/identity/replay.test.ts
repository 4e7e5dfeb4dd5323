import { beforeAll, describe, expect, it } from 'vitest'
import { IdentityError, UnavailableError } from '../../src/errors.js'
import { createIdentityVerifier, createMemoryReplayStore, type ReplayStore } from '../../src/identity/index.js'
import { ReplayGuard } from '../../src/identity/verify/replay.js'
import { configOptionOf, rejectionOf } from '../../../../test/support/failures.js'
import { createIdentityFixture, type IdentityFixture } from '../../../../test/support/identity.js'


describe('one-time use of workload tokens (replay)', () => {
  let ids: IdentityFixture
  beforeAll(async () => {
    ids = await createIdentityFixture({ services: ['employee-service', 'review-service', 'orders'] })
  })

  const bearer = (token: string): Record<string, string> => ({ authorization: `Bearer ${token}` })

  it('accepts a token once and refuses it after, even when the verified pair is cached', async () => {
    const verifier = createIdentityVerifier(ids.verifierOptions('review-service', { replay: {} }))
    const token = await ids.mintWorkloadToken('employee-service', { audience: 'review-service' })
    await verifier.verify(bearer(token))
    const second = await rejectionOf(verifier.verify(bearer(token)))
    expect(second).toBeInstanceOf(IdentityError)
    expect(second.reason).toBe('token_replayed')
    expect(second.tokenKind).toBe('workload')
    expect(second.httpStatus).toBe(401)
    // The second request was answered from the verified-result cache: the replay check still ran.
    expect(verifier.stats().cacheHits).toBe(1)
    expect(verifier.stats().replaysRefused).toBe(1)
    // A fresh token of the same caller is fine.
    await verifier.verify(bearer(await ids.mintWorkloadToken('employee-service', { audience: 'review-service' })))
  })

  it('accepts repeats when one-time use is off (the default)', async () => {
    const verifier = createIdentityVerifier(ids.verifierOptions('review-service'))
    const token = await ids.mintWorkloadToken('employee-service', { audience: 'review-service' })
    await verifier.verify(bearer(token))
    await verifier.verify(bearer(token))
    expect(verifier.stats().replaysRefused).toBe(0)
  })

  it('refuses a token without jti, and one whose jti is not a string', async () => {
    const verifier = createIdentityVerifier(ids.verifierOptions('review-service', { replay: {} }))
    const none = await ids.mintWorkloadToken('employee-service', { audience: 'review-service', claims: { jti: undefined } })
    expect((await rejectionOf(verifier.verify(bearer(none)))).reason).toBe('claim_missing')
    const number = await ids.mintWorkloadToken('employee-service', { audience: 'review-service', claims: { jti: 42 } })
    expect((await rejectionOf(verifier.verify(bearer(number)))).reason).toBe('claim_invalid')
  })

  it('uses up a jti only when every other check passed', async () => {
    const verifier = createIdentityVerifier(ids.verifierOptions('review-service', { replay: {} }))
    const token = await ids.mintWorkloadToken('employee-service', { audience: 'review-service', transactionId: 'txn-a' })
    const mismatch = await rejectionOf(verifier.verify({ ...bearer(token), 'x-meshguard-txn': 'txn-b' }))
    expect(mismatch.reason).toBe('txn_mismatch')
    await verifier.verify({ ...bearer(token), 'x-meshguard-txn': 'txn-a' })
  })

  it('keys used ids per callee: one store serves several services', async () => {
    const store = createMemoryReplayStore()
    const review = createIdentityVerifier(ids.verifierOptions('review-service', { replay: { store } }))
    const orders = createIdentityVerifier(ids.verifierOptions('orders', { replay: { store } }))
    const jti = 'shared-jti'
    await review.verify(bearer(await ids.mintWorkloadToken('employee-service', { audience: 'review-service', claims: { jti } })))
    await orders.verify(bearer(await ids.mintWorkloadToken('employee-service', { audience: 'orders', claims: { jti } })))
    const again = await ids.mintWorkloadToken('employee-service', { audience: 'orders', claims: { jti } })
    expect((await rejectionOf(orders.verify(bearer(again)))).reason).toBe('token_replayed')
  })

  it('keeps issuer and jti apart in its keys, and callees apart', () => {
    const keys: string[] = []
    const store: ReplayStore = { consume: (key) => (keys.push(key), true) }
    const guard = new ReplayGuard({ store }, new Set(['spiffe://example.org/ns/a/sa/review']), 30_000)
    const other = new ReplayGuard({ store }, new Set(['spiffe://example.org/ns/a/sa/orders']), 30_000)
    const exp = Math.floor(Date.now() / 1000) + 60
    // Pairs whose plain concatenation would collide, an issuer that is not a string, and none.
    for (const claims of [{ iss: 'a|1', jti: 'b' }, { iss: 'a', jti: '1|b' }, { iss: 'a|', jti: '1|b' }, { iss: '', jti: 'x' }, { iss: 7, jti: 'x' }, { jti: '0:|x' }]) {
      void guard.check({ claims, exp }, Date.now()) // the store above answers synchronously
    }
    void other.check({ claims: { iss: 'a', jti: '1|b' }, exp }, Date.now()) // the store above answers synchronously
    expect(new Set(keys).size).toBe(keys.length)
    // The same token at the same callee is the same key.
    void guard.check({ claims: { iss: 'a', jti: '1|b' }, exp }, Date.now()) // the store above answers synchronously
    expect(keys.at(-1)).toBe(keys[1])
  })

  it('forgets an id once its token has expired (plus the clock tolerance)', async () => {
    let now = Date.now()
    const verifier = createIdentityVerifier(ids.verifierOptions('review-service', { replay: { maxEntries: 1 }, clock: () => now, cacheSize: 0 }))
    await verifier.verify(bearer(await ids.mintWorkloadToken('employee-service', { audience: 'review-service', lifetime: 60 })))
    // The only slot holds a live id: a new token cannot be recorded, so it is refused (fail closed).
    const full = await rejectionOf(verifier.verify(bearer(await ids.mintWorkloadToken('employee-service', { audience: 'review-service' }))))
    expect(full).toBeInstanceOf(UnavailableError)
    expect(full.reason).toBe('replay_store_unavailable')
    expect(full.httpStatus).toBe(503)
    now += (60 + 30 + 1) * 1000
    const later = Math.floor(now / 1000)
    await verifier.verify(bearer(await ids.mintWorkloadToken('employee-service', { audience: 'review-service', now: later })))
    expect(verifier.stats().replayStoreErrors).toBe(1)
  })

  it('fails closed when the store fails, or lets the token through with onStoreError: accept', async () => {
    const broken: ReplayStore = { consume: () => Promise.reject(new Error('connection refused')) }
    const throwing: ReplayStore = {
      consume: () => {
        throw new Error('down')
      },
    }
    for (const store of [broken, throwing]) {
      const closed = createIdentityVerifier(ids.verifierOptions('review-service', { replay: { store } }))
      const token = await ids.mintWorkloadToken('employee-service', { audience: 'review-service' })
      const err = await rejectionOf(closed.verify(bearer(token)))
      expect(err.reason).toBe('replay_store_unavailable')
      expect(err.cause).toBeInstanceOf(Error)
      const open = createIdentityVerifier(ids.verifierOptions('review-service', { replay: { store, onStoreError: 'accept' } }))
      const caller = await open.verify(bearer(token))
      expect(caller.workload.id).toBe(ids.services['employee-service']?.id)
      expect(open.stats().replayStoreErrors).toBe(1)
    }
  })

  it('refuses unusable options at start-up', () => {
    const options = (replay: unknown): string => configOptionOf(() => createIdentityVerifier(ids.verifierOptions('review-service', { replay: replay as never })))
    expect(options('on')).toBe('identity.replay')
    expect(options({ onStoreError: 'ignore' })).toBe('identity.replay.onStoreError')
    expect(options({ maxEntries: 0 })).toBe('identity.replay.maxEntries')
    expect(options({ store: {} })).toBe('identity.replay.store')
    expect(options({ store: createMemoryReplayStore(), maxEntries: 5 })).toBe('identity.replay.maxEntries')
  })
})
