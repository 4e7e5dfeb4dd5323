import { createHash, generateKeyPairSync, randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { ConfigError } from '@meshguard/core'
import { createTxnTokenService, loadTxnTokenServiceConfig, readWitSigningKeys } from '../src/index.js'
import { generateFixtureKey, sign, TRUST_DOMAIN } from '../../../test/support/identity.js'
import { claimsOf, POLICY_DIR } from './support/tts.js'
import { CLUSTER_ISSUER, proofJwk, TYPES } from './support/wit.js'

const pem = (type: 'ed25519' | 'ec'): string =>
  (type === 'ed25519' ? generateKeyPairSync('ed25519') : generateKeyPairSync('ec', { namedCurve: 'P-256' })).privateKey.export({ format: 'pem', type: 'pkcs8' }).toString()

/** The `wit` section of `meshguard tts --config`: files relative to the configuration. */
describe('WIT issuer configuration file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'meshguard-wit-'))
  afterAll(() => rmSync(dir, { recursive: true, force: true }))
  const issuer = 'http://127.0.0.1:8443'
  const cluster = generateFixtureKey('ES256', 'cluster-1')
  const gateway = generateFixtureKey('EdDSA', 'gateway-1')
  writeFileSync(join(dir, 'tts-1.pem'), pem('ed25519'))
  writeFileSync(join(dir, 'wit-1.pem'), pem('ec'))
  writeFileSync(join(dir, 'cluster.jwks.json'), JSON.stringify({ keys: [cluster.publicJwk] }))
  writeFileSync(join(dir, 'gateway.jwks.json'), JSON.stringify({ keys: [gateway.publicJwk] }))
  const write = (wit: Record<string, unknown>): string => {
    const file = join(dir, `tts-${randomBytes(4).toString('hex')}.json`)
    writeFileSync(
      file,
      JSON.stringify({
        issuer,
        trustDomain: TRUST_DOMAIN,
        signingKeys: [{ file: 'tts-1.pem', kid: 'tts-1' }],
        trust: { workloads: [{ issuer: `spiffe://${TRUST_DOMAIN}/ns/edge/sa/gateway`, keys: { jwksFile: 'gateway.jwks.json' } }] },
        policies: POLICY_DIR,
        audit: 'off',
        wit,
      }),
    )
    return file
  }

  it('loads the WIT keys and cluster keys from files and issues from them', async () => {
    const file = write({
      signingKeys: [{ file: 'wit-1.pem', kid: 'wit-1' }],
      roles: ['reviews-reader'],
      kubernetes: [{ cluster: 'prod', issuer: CLUSTER_ISSUER, keys: { jwksFile: 'cluster.jwks.json' } }],
    })
    const loaded = await loadTxnTokenServiceConfig(file)
    expect(loaded.witSigningKeys?.map((k) => k.kid)).toEqual(['wit-1'])
    expect(readWitSigningKeys(file)?.map((k) => k.kid)).toEqual(['wit-1'])
    const service = createTxnTokenService(loaded.options)
    expect(service.wit?.jwks().keys.map((k) => [k.kid, k.alg])).toEqual([['wit-1', 'ES256']])
    expect(service.jwks().keys.map((k) => k.kid)).toEqual(['tts-1'])

    const now = Math.floor(Date.now() / 1000)
    const attestation = await sign(cluster, { alg: 'ES256', kid: 'cluster-1' }, {
      iss: CLUSTER_ISSUER,
      aud: issuer,
      sub: 'system:serviceaccount:reviews:reviews',
      iat: now,
      exp: now + 600,
      'kubernetes.io': { namespace: 'reviews', serviceaccount: { name: 'reviews' } },
    })
    const key = generateFixtureKey('ES256')
    const proof = await sign(key, { alg: 'ES256', typ: 'wit-pop+jwt', jwk: proofJwk(key) }, {
      aud: issuer,
      iat: now,
      jti: randomBytes(16).toString('base64url'),
      ath: createHash('sha256').update(attestation).digest('base64url'),
    })
    const issued = await service.wit?.issue({ attestation_type: TYPES.kubernetes, attestation, proof })
    expect(claimsOf(issued?.wit)).toMatchObject({ iss: issuer, sub: `spiffe://${TRUST_DOMAIN}/ns/reviews/sa/reviews`, 'https://meshguard.dev/wit': { roles: ['reviews-reader'] } })
  })

  it('has no WIT issuer without a wit section, and names the option of a mistake', async () => {
    const plain = join(dir, 'plain.json')
    writeFileSync(plain, JSON.stringify({ issuer, trustDomain: TRUST_DOMAIN, signingKeys: [{ file: 'tts-1.pem', kid: 'tts-1' }], trust: { workloads: [] }, policies: POLICY_DIR, audit: 'off' }))
    expect(readWitSigningKeys(plain)).toBeUndefined()
    expect(createTxnTokenService((await loadTxnTokenServiceConfig(plain)).options).wit).toBeUndefined()
    await expect(loadTxnTokenServiceConfig(write({ signingKeys: 'wit-1.pem' }))).rejects.toThrow(ConfigError)
    const missing = await loadTxnTokenServiceConfig(write({ signingKeys: [{ file: 'wit-1.pem', kid: 'wit-1' }], kubernetes: [{ cluster: 'prod', issuer: CLUSTER_ISSUER, keys: { jwksFile: 'nope.json' } }] }))
    expect(() => createTxnTokenService(missing.options)).toThrow(/wit\.kubernetes\[0\]\.keys\.jwksFile/)
  })
})
