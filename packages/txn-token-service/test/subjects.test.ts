import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { SubjectInfo } from '../src/index.js'
import { TOKEN_TYPES } from '../src/index.js'
import { serviceId } from '../../../test/support/identity.js'
import { claimsOf, startTts, type TtsFixture } from './support/tts.js'

describe('self_signed subjects (internally started transactions)', () => {
  let tts: TtsFixture
  beforeAll(async () => {
    tts = await startTts()
  })
  afterAll(() => tts.close())

  const selfSigned = (from: string, audience: string, scope = 'report.weekly') =>
    tts.ids.mintWorkloadToken(from, { audience, claims: { scope } })

  it('issues a token whose subject is the job itself', async () => {
    const subject = await selfSigned('report-job', tts.service.issuer)
    const form = await tts.form('report-job', subject, { subject_token_type: TOKEN_TYPES.selfSigned, scope: 'report.weekly' })
    const { status, body } = await tts.post(form)
    expect(body['error_description']).toBeUndefined()
    expect(status).toBe(200)
    const claims = claimsOf(body['access_token'])
    expect(claims).toMatchObject({ sub: serviceId('report-job'), req_wl: serviceId('report-job'), scope: 'report.weekly' })
    expect(claims['tctx']).toBeUndefined()
  })

  it('refuses a self_signed token of another workload', async () => {
    const subject = await selfSigned('report-job', tts.service.issuer)
    const form = await tts.form('gateway', subject, { subject_token_type: TOKEN_TYPES.selfSigned, scope: 'report.weekly' })
    const { status, body } = await tts.post(form)
    expect([status, body['error'], body['error_description']]).toEqual([400, 'invalid_request', 'a self_signed subject_token must be issued by the requesting workload'])
  })

  it('refuses a self_signed token for another audience', async () => {
    const subject = await selfSigned('report-job', 'https://elsewhere.example')
    const form = await tts.form('report-job', subject, { subject_token_type: TOKEN_TYPES.selfSigned, scope: 'report.weekly' })
    expect((await tts.post(form)).body['error']).toBe('invalid_request')
  })

  it('leaves the decision to the policy: the edge may not start transactions on its own', async () => {
    const subject = await selfSigned('gateway', tts.service.issuer, 'review.read')
    const form = await tts.form('gateway', subject, { subject_token_type: TOKEN_TYPES.selfSigned, scope: 'review.read' })
    expect((await tts.post(form)).body['error']).toBe('unauthorized_client')
  })
})

describe('user lookup and revocation hooks', () => {
  let tts: TtsFixture
  const revoked = new Set<string>()
  let lookupFails = false
  let revocationFails = false
  const seen: SubjectInfo[] = []
  beforeAll(async () => {
    tts = await startTts({
      lookupUser: (subject) => {
        if (lookupFails) throw new Error('directory down')
        seen.push(subject)
        return subject.sub === 'ed' ? { roles: ['employee', 'reviewer'], attr: { costCenter: 'cc-7' } } : undefined
      },
      isRevoked: (subject) => {
        if (revocationFails) return Promise.reject(new Error('store down'))
        return revoked.has(subject.sub) || (subject.sid !== undefined && revoked.has(subject.sid))
      },
    })
  })
  afterAll(() => tts.close())

  it('adds what the directory says to tctx.user (its roles replace the token roles)', async () => {
    const { body } = await tts.post(await tts.form('gateway', await tts.userToken('ed')))
    expect(claimsOf(body['access_token'])['tctx']).toEqual({
      user: { roles: ['employee', 'reviewer'], attr: { department: 'engineering', costCenter: 'cc-7' } },
    })
    expect(seen.at(-1)).toMatchObject({ tokenType: 'access_token', sub: 'ed', id: 'ed' })
  })

  it('refuses with 503 when the directory fails', async () => {
    lookupFails = true
    try {
      const { status, body } = await tts.post(await tts.form('gateway', await tts.userToken('ed')))
      expect([status, body['error']]).toEqual([503, 'temporarily_unavailable'])
    } finally {
      lookupFails = false
    }
  })

  it('refuses a revoked subject or session with invalid_grant', async () => {
    revoked.add('hana')
    const byUser = await tts.post(await tts.form('gateway', await tts.userToken('hana')))
    expect([byUser.status, byUser.body['error']]).toEqual([400, 'invalid_grant'])
    revoked.add('session-9')
    const bySession = await tts.post(await tts.form('gateway', await tts.userToken('alice', 'review.read', { sid: 'session-9' })))
    expect(bySession.body['error']).toBe('invalid_grant')
    expect((await tts.post(await tts.form('gateway', await tts.userToken('alice')))).status).toBe(200)
  })

  it('refuses replacement for a subject revoked after issuance', async () => {
    const { body } = await tts.post(await tts.form('gateway', await tts.userToken('ed')))
    revoked.add('ed')
    const replaced = await tts.post(await tts.form('employee-service', String(body['access_token']), { subject_token_type: TOKEN_TYPES.txnToken }))
    expect(replaced.body['error']).toBe('invalid_grant')
  })

  it('fails closed with 503 when the revocation check fails', async () => {
    revocationFails = true
    try {
      const { status } = await tts.post(await tts.form('gateway', await tts.userToken('alice')))
      expect(status).toBe(503)
    } finally {
      revocationFails = false
    }
  })
})
