import { generateKeyPairSync } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ConfigError } from '@meshguard/core'
import { headerOf, startTts, type TtsFixture } from './support/tts.js'

/** Key rotation without a restart: published before use, kept until its tokens expire. */
describe('signing key rotation', () => {
  let tts: TtsFixture
  // A stopped clock: rotation times are exact (tokens minted on the real clock stay valid meanwhile).
  const base = Date.now()
  let offset = 0
  beforeAll(async () => {
    tts = await startTts({ keyActivationDelay: 60, tokenLifetime: 120, clockTolerance: 30, clock: () => base + offset })
  })
  afterAll(() => tts.close())

  const kids = async (): Promise<string[]> => {
    const jwks = (await (await fetch(tts.service.jwksUri)).json()) as { keys: Array<{ kid: string; d?: string }> }
    expect(jwks.keys.every((k) => k.d === undefined)).toBe(true)
    return jwks.keys.map((k) => k.kid)
  }
  const issuedKid = async (): Promise<unknown> => {
    const { body } = await tts.post(await tts.form('gateway', await tts.userToken('alice')))
    return headerOf(body['access_token'])['kid']
  }

  it('publishes a new key at once, signs with it after the delay, drops the old one after its tokens expired', async () => {
    tts.service.rotateKey({ key: generateKeyPairSync('ed25519').privateKey, kid: 'tts-2' })
    expect(await kids()).toEqual(['tts-1', 'tts-2'])
    expect(await issuedKid()).toBe('tts-1')

    offset = 61_000
    expect(await issuedKid()).toBe('tts-2')
    expect(await kids()).toEqual(['tts-1', 'tts-2'])

    // Old key kept for the token lifetime plus tolerance after it stopped signing.
    offset = 60_000 + 150_000
    expect(await kids()).toEqual(['tts-1', 'tts-2'])
    offset = 60_000 + 151_000
    expect(await kids()).toEqual(['tts-2'])
  })

  it('refuses a kid already in use and unusable keys', () => {
    expect(() => tts.service.rotateKey({ key: generateKeyPairSync('ed25519').privateKey, kid: 'tts-2' })).toThrow(ConfigError)
    expect(() => tts.service.rotateKey({ key: generateKeyPairSync('ec', { namedCurve: 'secp256k1' }).privateKey, kid: 'tts-9' })).toThrow(ConfigError)
    expect(() => tts.service.rotateKey({ key: generateKeyPairSync('ed25519').publicKey, kid: 'tts-10' })).toThrow(ConfigError)
  })
})

describe('RSA signing keys', () => {
  it('signs with PS256 by default and RS256 on request', async () => {
    for (const alg of [undefined, 'RS256'] as const) {
      const tts = await startTts({ signingKeys: [{ key: generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey, kid: 'rsa-1', alg }] })
      try {
        const { body } = await tts.post(await tts.form('gateway', await tts.userToken('alice')))
        expect(headerOf(body['access_token'])['alg']).toBe(alg ?? 'PS256')
      } finally {
        await tts.close()
      }
    }
  })
})
