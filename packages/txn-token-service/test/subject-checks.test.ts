import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { generateFixtureKey } from '../../../test/support/identity.js'
import { startTts, type TtsFixture } from './support/tts.js'

/**
 * The subject-token checks the service runs itself (signature with node:crypto, then times and
 * audience): each refused with its reason, and none skipped for a token whose signature already
 * verified once.
 */
describe('subject token checks', () => {
  let tts: TtsFixture
  let skewMs = 0
  beforeAll(async () => {
    tts = await startTts({ clock: () => Date.now() + skewMs }, { maxTokenAge: 600 })
  })
  afterAll(() => tts.close())

  const reasonOf = async (subjectToken: string): Promise<string | undefined> => {
    const answer = await tts.post(await tts.form('gateway', subjectToken))
    expect(answer.status).toBe(400)
    expect(answer.body['error']).toBe('invalid_request')
    await tts.audit.flush()
    return tts.records.at(-1)?.reason
  }
  const now = () => Math.floor(Date.now() / 1000)

  it('refuses a token for an audience the issuer entry does not accept', async () => {
    const token = await tts.ids.mintActorToken('alice', { claims: { scope: 'review.read', aud: 'https://other.example.org' } })
    expect(await reasonOf(token)).toBe('subject_token_invalid')
  })

  it('refuses critical header extensions', async () => {
    const token = await tts.ids.mintActorToken('alice', { claims: { scope: 'review.read' }, header: { crit: ['b64'], b64: true } })
    expect(await reasonOf(token)).toBe('subject_token_invalid')
  })

  it('refuses a token signed by another key under the trusted kid', async () => {
    const token = await tts.ids.mintActorToken('alice', { claims: { scope: 'review.read' }, signWith: generateFixtureKey('ES256') })
    expect(await reasonOf(token)).toBe('subject_token_invalid')
  })

  it('refuses a token issued longer ago than maxTokenAge, though not expired', async () => {
    const token = await tts.ids.mintActorToken('alice', { claims: { scope: 'review.read' }, now: now() - 700, lifetime: 1000 })
    expect(await reasonOf(token)).toBe('subject_token_expired')
  })

  it('refuses a token that is not valid yet', async () => {
    const token = await tts.ids.mintActorToken('alice', { claims: { scope: 'review.read', nbf: now() + 300 } })
    expect(await reasonOf(token)).toBe('subject_token_invalid')
  })

  it('checks the times of a token whose signature it verified before', async () => {
    const token = await tts.ids.mintActorToken('alice', { claims: { scope: 'review.read' }, lifetime: 60 })
    expect((await tts.post(await tts.form('gateway', token))).status).toBe(200)
    skewMs = 120_000
    try {
      expect(await reasonOf(token)).toBe('subject_token_expired')
    } finally {
      skewMs = 0
    }
  })
})

describe('subject token algorithms', () => {
  let tts: TtsFixture
  beforeAll(async () => {
    tts = await startTts({}, { algorithms: ['EdDSA'] })
  })
  afterAll(() => tts.close())

  it('refuses an algorithm outside the issuer entry, even with the trusted key', async () => {
    const answer = await tts.post(await tts.form('gateway', await tts.userToken('alice')))
    expect(answer.status).toBe(400)
    await tts.audit.flush()
    expect(tts.records.at(-1)?.reason).toBe('subject_token_invalid')
  })
})
