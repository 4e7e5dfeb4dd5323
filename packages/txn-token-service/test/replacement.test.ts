import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { TOKEN_TYPES } from '../src/index.js'
import { serviceId, TRUST_DOMAIN } from '../../../test/support/identity.js'
import { claimsOf, startTts, type TtsFixture } from './support/tts.js'

/** Replacement Txn-Tokens (draft §13.15): narrower scope, added context, same txn, sub and aud. */
describe('replacing a Txn-Token', () => {
  let tts: TtsFixture
  let offset = 0
  beforeAll(async () => {
    tts = await startTts({ maxReplacements: 2, clock: () => Date.now() + offset })
  })
  afterAll(() => tts.close())

  async function original(scope = 'review.read review.write', details?: object): Promise<string> {
    const form = await tts.form('gateway', await tts.userToken('alice'), {
      scope,
      ...(details === undefined ? {} : { request_details: JSON.stringify(details) }),
      request_context: JSON.stringify({ transport: 'https' }),
    })
    const { status, body } = await tts.post(form)
    expect(status).toBe(200)
    return String(body['access_token'])
  }

  const replace = async (from: string, token: string, overrides: Record<string, string | undefined> = {}) =>
    tts.post(await tts.form(from, token, { subject_token_type: TOKEN_TYPES.txnToken, scope: 'review.read', ...overrides }))

  it('keeps txn, sub, aud and the user; narrows the scope; records the earlier requester', async () => {
    const first = await original('review.read review.write', { reviewId: 'r-1' })
    const { status, body } = await replace('employee-service', first, { request_details: JSON.stringify({ step: 'lookup' }) })
    expect(status).toBe(200)
    const before = claimsOf(first)
    const after = claimsOf(body['access_token'])
    expect(after).toMatchObject({
      txn: before['txn'],
      sub: 'alice',
      aud: TRUST_DOMAIN,
      scope: 'review.read',
      req_wl: serviceId('employee-service'),
      req_wl_prev: [serviceId('gateway')],
      tctx: { reviewId: 'r-1', step: 'lookup', user: { roles: ['employee', 'manager'], attr: { department: 'engineering' } } },
      rctx: { transport: 'https' },
    })
    expect(after['exp']).toBeLessThanOrEqual(before['exp'] as number)
  })

  it('refuses to widen the scope', async () => {
    const narrow = await original('review.read')
    const { status, body } = await replace('employee-service', narrow, { scope: 'review.read review.write' })
    expect([status, body['error']]).toEqual([400, 'invalid_scope'])
  })

  it('refuses to change a member of tctx', async () => {
    const first = await original('review.read', { reviewId: 'r-1' })
    const { status, body } = await replace('employee-service', first, { request_details: JSON.stringify({ reviewId: 'r-2' }) })
    expect([status, body['error']]).toEqual([400, 'invalid_request'])
  })

  it('refuses a workload the policy does not allow to replace', async () => {
    const { status, body } = await replace('orders', await original())
    expect([status, body['error']]).toEqual([400, 'unauthorized_client'])
  })

  it('never replaces an expired token', async () => {
    const first = await original()
    offset = 301_000
    try {
      const { status, body } = await replace('employee-service', first)
      expect([status, body['error'], body['error_description']]).toEqual([400, 'invalid_request', 'an expired Txn-Token is never replaced'])
    } finally {
      offset = 0
    }
  })

  it('refuses a token that is not one of this service (another signer)', async () => {
    const other = await tts.ids.mintWorkloadToken('gateway', { audience: TRUST_DOMAIN, header: { typ: 'txntoken+jwt' } })
    const { status, body } = await replace('employee-service', other)
    expect([status, body['error']]).toEqual([400, 'invalid_request'])
  })

  it('caps replacements per transaction', async () => {
    const first = await original()
    expect((await replace('employee-service', first)).status).toBe(200)
    expect((await replace('review-service', first)).status).toBe(200)
    const third = await replace('employee-service', first)
    expect([third.status, third.body['error']]).toEqual([400, 'invalid_grant'])
  })
})
