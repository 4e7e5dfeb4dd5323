/**
 * Fuzzing of Txn-Token verification with a fixed seed: tens of thousands of mutated Txn-Tokens, each
 * presented with a workload token bound to exactly that mutation (so the Txn-Token's own checks are
 * what is judged, not the binding), and mutated Txn-Token header values. Whatever the input: a typed
 * MeshguardError, never a crash, never an accept (bar a mutation the decoder cannot see).
 */
import fc from 'fast-check'
import { beforeAll, describe, expect, it } from 'vitest'
import { MeshguardError } from '../../packages/core/src/errors.js'
import { createIdentityVerifier, sha256Base64url, type IdentityVerifier } from '../../packages/core/src/identity/index.js'
import { createIdentityFixture, serviceId, type IdentityFixture } from '../support/identity.js'
import { mutation, sameJws } from '../support/token-mutations.js'
import { createTxnTokenFixture, type TxnTokenFixture } from '../support/txn-tokens.js'

const SEED = 16_2026
const TOKEN_RUNS = 20_000
const HEADER_RUNS = 10_000

describe('Txn-Token fuzzing', () => {
  let ids: IdentityFixture
  let tts: TxnTokenFixture
  let verifier: IdentityVerifier
  let txnToken: string
  const tally = { accepted: 0, refused: 0, crashed: 0 }

  beforeAll(async () => {
    ids = await createIdentityFixture({ services: ['gateway', 'caller', 'callee'] })
    tts = createTxnTokenFixture(ids)
    verifier = createIdentityVerifier({
      audience: serviceId('callee'),
      trust: { workloads: ids.trust().workloads, txnTokens: tts.trust() },
      // Every input verified afresh, on the event loop (no threadpool round trip per case).
      cacheSize: 0,
      signatureCheck: 'inline',
    })
    txnToken = await tts.mint({ txn: 'txn-fuzz' })
  })

  const bound = async (token: string): Promise<Record<string, string>> => {
    const workload = await ids.mintWorkloadToken('caller', { audience: 'callee', transactionId: 'txn-fuzz', claims: { tth: sha256Base64url(token) } })
    return { authorization: `Bearer ${workload}`, 'txn-token': token }
  }

  const judge = async (headers: Record<string, string | string[]>): Promise<'accepted' | 'refused' | 'crashed'> => {
    try {
      await verifier.verifyNow(headers)
      return 'accepted'
    } catch (err) {
      return err instanceof MeshguardError ? 'refused' : 'crashed'
    }
  }

  it(`${TOKEN_RUNS} mutated Txn-Tokens, each bound to its workload token: 0 accepted, 0 crashes`, async () => {
    expect(await judge(await bound(txnToken))).toBe('accepted')
    await fc.assert(
      fc.asyncProperty(fc.array(mutation, { minLength: 1, maxLength: 3 }), async (mutations) => {
        const mutated = mutations.reduce((t, m) => (t.length > 0 ? m(t) : t), txnToken)
        if (mutated.length === 0 || /[\s,]/.test(mutated)) return // not one header value; the header cases cover these
        const outcome = await judge(await bound(mutated))
        if (outcome === 'accepted' && sameJws(txnToken, mutated)) return
        tally[outcome]++
        expect(outcome).toBe('refused')
      }),
      { numRuns: TOKEN_RUNS, seed: SEED },
    )
    expect(tally.accepted).toBe(0)
    expect(tally.crashed).toBe(0)
    expect(tally.refused).toBeGreaterThan(TOKEN_RUNS / 2)
  }, 600_000)

  it(`${HEADER_RUNS} mutated Txn-Token headers next to a valid bound workload token: 0 accepted, 0 crashes`, async () => {
    const valid = await bound(txnToken)
    const value = fc.oneof(
      fc.string({ maxLength: 200 }),
      fc.array(fc.string({ maxLength: 100 }), { minLength: 0, maxLength: 3 }),
      fc.constantFrom(`${txnToken}, ${txnToken}`, ` ${txnToken}x`, `Bearer ${txnToken}`, txnToken.toUpperCase(), `${txnToken}.${txnToken}`, [txnToken, txnToken]),
    )
    let crashed = 0
    let accepted = 0
    await fc.assert(
      fc.asyncProperty(value, fc.boolean(), async (txnHeader, withActor) => {
        const headers: Record<string, string | string[]> = { authorization: valid['authorization'] as string, 'txn-token': txnHeader }
        if (withActor) headers['x-meshguard-actor'] = txnToken
        const outcome = await judge(headers)
        if (outcome === 'crashed') crashed++
        if (outcome === 'accepted') accepted++
        expect(outcome).toBe('refused')
      }),
      { numRuns: HEADER_RUNS, seed: SEED },
    )
    expect([accepted, crashed]).toEqual([0, 0])
  }, 600_000)
})
