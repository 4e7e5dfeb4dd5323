import { generateKeyPairSync } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createLocalJWKSet, jwtVerify } from 'jose'
import { ConfigError, EmbeddedEngine, type DecisionEngine } from '@meshguard/core'
import { runPolicyTests } from '@meshguard/core/testing'
import { TokenExchangeError, WIT_CLAIM, WIT_TYP } from '../src/index.js'
import { generateFixtureKey, TRUST_DOMAIN } from '../../../test/support/identity.js'
import { claimsOf, headerOf, POLICY_DIR } from './support/tts.js'
import { CLUSTER_ISSUER, EMPLOYEE_SERVICE, proofJwk, startWitIssuer, TYPES, witOptions, type WitFixture } from './support/wit.js'

const REVIEWS = `spiffe://${TRUST_DOMAIN}/ns/reviews/sa/reviews`

/** The newest audit record, once the log has written everything. */
async function lastRecord(wit: WitFixture): Promise<unknown> {
  await wit.audit.flush()
  return wit.records.at(-1)
}

/** The refusal `issue` throws for `body`: its reason code and HTTP status. */
async function refusal(wit: WitFixture, body: unknown): Promise<{ reason: string; status: number }> {
  const issuer = wit.service.wit
  if (issuer === undefined) throw new Error('the fixture has no WIT issuer')
  const error = await issuer.issue(body).then(
    () => undefined,
    (err: unknown) => err,
  )
  expect(error).toBeInstanceOf(TokenExchangeError)
  const typed = error as TokenExchangeError
  return { reason: typed.reason, status: typed.httpStatus }
}

describe('WIT issuance', () => {
  let wit: WitFixture
  beforeAll(async () => {
    wit = await startWitIssuer()
  })
  afterAll(() => wit.close())

  const verifyWit = async (token: unknown): Promise<Record<string, unknown>> => {
    const jwks = (await (await fetch(`${wit.url}/.well-known/wit-jwks.json`)).json()) as Parameters<typeof createLocalJWKSet>[0]
    const { payload } = await jwtVerify(String(token), createLocalJWKSet(jwks), { issuer: wit.url, typ: WIT_TYP, algorithms: ['ES256', 'EdDSA'] })
    return payload
  }

  it('issues a WIT for a Kubernetes service-account token: the mapped SPIFFE ID, the proof key, policy-granted roles', async () => {
    const attestation = await wit.saToken('reviews', 'reviews')
    const { proof, key } = await wit.proof(attestation)
    const { status, body } = await wit.postWit({ attestation_type: TYPES.kubernetes, attestation, proof })
    expect(status).toBe(200)
    expect(body['sub']).toBe(REVIEWS)
    const header = headerOf(body['wit'])
    expect(header).toMatchObject({ typ: 'wit+jwt', alg: 'ES256', kid: 'wit-1' })
    const claims = await verifyWit(body['wit'])
    expect(claims).toMatchObject({ iss: wit.url, sub: REVIEWS, cnf: { jwk: proofJwk(key) } })
    expect(claims['aud']).toBeUndefined()
    expect(claims['exp']).toBe((claims['iat'] as number) + 3600)
    expect(body['expires_at']).toBe(claims['exp'])
    expect(Buffer.from(String(claims['jti']), 'base64url')).toHaveLength(16)
    expect(claims[WIT_CLAIM]).toEqual({ roles: ['reviews-reader'], attr: { namespace: 'reviews', cluster: 'prod' } })
    const record = (await lastRecord(wit)) as { metadata?: Record<string, string> } | undefined
    expect(record).toMatchObject({ outcome: 'allowed', resource: { kind: 'workload_identity', id: REVIEWS }, action: 'issue', workloadId: REVIEWS })
    expect(record?.metadata).toMatchObject({ attestation_type: TYPES.kubernetes, attestation_authority: CLUSTER_ISSUER, roles: 'reviews-reader' })
  })

  it('issues a WIT for a registered key (private_key_jwt) and an EdDSA workload key', async () => {
    const attestation = await wit.clientAssertion()
    const key = generateFixtureKey('EdDSA')
    const { proof } = await wit.proof(attestation, { key })
    const { status, body } = await wit.postWit({ attestation_type: TYPES.privateKeyJwt, attestation, proof })
    expect(status).toBe(200)
    const claims = await verifyWit(body['wit'])
    expect(claims).toMatchObject({ sub: EMPLOYEE_SERVICE, cnf: { jwk: { kty: 'OKP', crv: 'Ed25519', alg: 'EdDSA' } } })
    expect(claims[WIT_CLAIM]).toEqual({ roles: ['hr-admin'] })
  })

  it('issues a WIT for a SPIFFE JWT-SVID', async () => {
    const attestation = await wit.svid(REVIEWS)
    const { status, body } = await wit.postWit(await wit.request(TYPES.jwtSvid, attestation))
    expect(status).toBe(200)
    expect((await verifyWit(body['wit']))['sub']).toBe(REVIEWS)
  })

  it('asserts only requested roles when the workload narrows them', async () => {
    const attestation = await wit.saToken('reviews', 'reviews')
    const { body } = await wit.postWit(await wit.request(TYPES.kubernetes, attestation, { roles: [] }))
    expect(claimsOf(body['wit'])[WIT_CLAIM]).toEqual({ attr: { namespace: 'reviews', cluster: 'prod' } })
  })

  it('answers refusals as JSON errors with their status', async () => {
    const attestation = await wit.saToken('kube-system', 'coredns')
    const denied = await wit.postWit(await wit.request(TYPES.kubernetes, attestation))
    expect(denied).toMatchObject({ status: 400, body: { error: 'unauthorized_client' } })
    expect(await wit.postWit('{', {})).toMatchObject({ status: 400, body: { error: 'invalid_request' } })
    expect((await wit.postWit({}, { 'content-type': 'text/plain' })).status).toBe(415)
    expect((await fetch(`${wit.url}/wit`)).status).toBe(405)
    expect(await lastRecord(wit)).toMatchObject({ outcome: 'denied', reason: 'content_type_unsupported' })
  })

  describe('refuses', () => {
    it('a Kubernetes token for another audience, expired, or from an unknown cluster', async () => {
      const wrongAud = await wit.saToken('reviews', 'reviews', { aud: ['https://elsewhere.example'] })
      expect(await refusal(wit, await wit.request(TYPES.kubernetes, wrongAud))).toEqual({ reason: 'attestation_audience', status: 400 })
      const expired = await wit.saToken('reviews', 'reviews', { iat: Math.floor(Date.now() / 1000) - 7200, nbf: undefined, exp: Math.floor(Date.now() / 1000) - 3600 })
      expect((await refusal(wit, await wit.request(TYPES.kubernetes, expired))).reason).toBe('attestation_expired')
      const otherCluster = await wit.saToken('reviews', 'reviews', { iss: 'https://other-cluster.example' })
      expect((await refusal(wit, await wit.request(TYPES.kubernetes, otherCluster))).reason).toBe('attestation_issuer_unknown')
      const forged = await wit.saToken('reviews', 'reviews', {}, generateFixtureKey('ES256', 'cluster-1'))
      expect((await refusal(wit, await wit.request(TYPES.kubernetes, forged))).reason).toBe('attestation_invalid')
      const mismatched = await wit.saToken('reviews', 'reviews', { sub: 'system:serviceaccount:hr:employee-service' })
      expect((await refusal(wit, await wit.request(TYPES.kubernetes, mismatched))).reason).toBe('attestation_claims')
      expect(await lastRecord(wit)).toMatchObject({ kind: 'auth_failure', outcome: 'unauthenticated', reason: 'attestation_claims' })
    })

    it('a replayed, mis-addressed or unregistered private_key_jwt assertion', async () => {
      const attestation = await wit.clientAssertion()
      expect((await wit.postWit(await wit.request(TYPES.privateKeyJwt, attestation))).status).toBe(200)
      expect((await refusal(wit, await wit.request(TYPES.privateKeyJwt, attestation))).reason).toBe('client_assertion_replayed')
      const wrongAud = await wit.clientAssertion({ aud: `${wit.url}/token` })
      expect((await refusal(wit, await wit.request(TYPES.privateKeyJwt, wrongAud))).reason).toBe('attestation_audience')
      const stranger = `spiffe://${TRUST_DOMAIN}/ns/shop/sa/orders`
      const unregistered = await wit.clientAssertion({ iss: stranger, sub: stranger })
      expect((await refusal(wit, await wit.request(TYPES.privateKeyJwt, unregistered))).reason).toBe('attestation_issuer_unknown')
    })

    it('a JWT-SVID for another audience, expired, from another trust domain or signed by another bundle', async () => {
      const wrongAud = await wit.svid(REVIEWS, { aud: ['spiffe://example.org/ns/x/sa/y'] })
      expect((await refusal(wit, await wit.request(TYPES.jwtSvid, wrongAud))).reason).toBe('attestation_audience')
      const expired = await wit.svid(REVIEWS, { iat: Math.floor(Date.now() / 1000) - 900, exp: Math.floor(Date.now() / 1000) - 600 })
      expect((await refusal(wit, await wit.request(TYPES.jwtSvid, expired))).reason).toBe('attestation_expired')
      const foreign = await wit.svid('spiffe://other.org/ns/reviews/sa/reviews')
      expect((await refusal(wit, await wit.request(TYPES.jwtSvid, foreign))).reason).toBe('attestation_issuer_unknown')
      const forged = await wit.svid(REVIEWS, {}, generateFixtureKey('ES256', 'spire-1'))
      expect((await refusal(wit, await wit.request(TYPES.jwtSvid, forged))).reason).toBe('attestation_invalid')
    })

    it('a missing, malformed, mis-addressed, stale or replayed proof', async () => {
      const attestation = await wit.saToken('reviews', 'reviews')
      expect((await refusal(wit, { attestation_type: TYPES.kubernetes, attestation })).reason).toBe('proof_missing')
      expect((await refusal(wit, { attestation_type: TYPES.kubernetes, attestation, proof: 'a.b' })).reason).toBe('proof_malformed')
      const wrongAud = await wit.proof(attestation, { claims: { aud: `${wit.url}/token` } })
      expect((await refusal(wit, { attestation_type: TYPES.kubernetes, attestation, proof: wrongAud.proof })).reason).toBe('proof_audience')
      const stale = await wit.proof(attestation, { claims: { iat: Math.floor(Date.now() / 1000) - 600 } })
      expect((await refusal(wit, { attestation_type: TYPES.kubernetes, attestation, proof: stale.proof })).reason).toBe('proof_stale')
      const future = await wit.proof(attestation, { claims: { iat: Math.floor(Date.now() / 1000) + 600 } })
      expect((await refusal(wit, { attestation_type: TYPES.kubernetes, attestation, proof: future.proof })).reason).toBe('proof_stale')
      const noJti = await wit.proof(attestation, { claims: { jti: undefined } })
      expect((await refusal(wit, { attestation_type: TYPES.kubernetes, attestation, proof: noJti.proof })).reason).toBe('proof_jti')
      const wrongTyp = await wit.proof(attestation, { header: { typ: 'JWT' } })
      expect((await refusal(wit, { attestation_type: TYPES.kubernetes, attestation, proof: wrongTyp.proof })).reason).toBe('proof_typ')
      const once = await wit.proof(attestation)
      expect((await wit.postWit({ attestation_type: TYPES.kubernetes, attestation, proof: once.proof })).status).toBe(200)
      expect((await refusal(wit, { attestation_type: TYPES.kubernetes, attestation, proof: once.proof })).reason).toBe('proof_replayed')
    })

    it('a proof signed by another key than the one it names, or made for another attestation', async () => {
      const attestation = await wit.saToken('reviews', 'reviews')
      const victim = generateFixtureKey('ES256')
      const byAnother = await wit.proof(attestation, { jwk: proofJwk(victim) })
      expect((await refusal(wit, { attestation_type: TYPES.kubernetes, attestation, proof: byAnother.proof })).reason).toBe('proof_signature')
      const other = await wit.saToken('reviews', 'reviews')
      const forOther = await wit.proof(other)
      expect((await refusal(wit, { attestation_type: TYPES.kubernetes, attestation, proof: forOther.proof })).reason).toBe('proof_attestation_mismatch')
    })

    it('cnf keys that are symmetric, private, of another algorithm or inconsistent', async () => {
      const attestation = await wit.saToken('reviews', 'reviews')
      const key = generateFixtureKey('ES256')
      const jwk = proofJwk(key)
      const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey.export({ format: 'jwk' })
      const cases: Array<[Record<string, unknown>, string]> = [
        [{ kty: 'oct', k: 'c2VjcmV0', alg: 'HS256' }, 'cnf_key_private'],
        [{ ...jwk, d: key.privateKey.export({ format: 'jwk' }).d }, 'cnf_key_private'],
        [{ ...rsa, alg: 'RS256' }, 'cnf_key_alg_unsupported'],
        [{ ...jwk, alg: undefined }, 'cnf_key_alg_missing'],
        [{ ...jwk, alg: 'EdDSA' }, 'cnf_key_mismatch'],
        [{ ...jwk, crv: 'P-384' }, 'cnf_key_mismatch'],
        [{ ...jwk, x: 'AAAA' }, 'cnf_key_invalid'],
      ]
      for (const [bad, reason] of cases) {
        const { proof } = await wit.proof(attestation, { key, jwk: JSON.parse(JSON.stringify(bad)) as Record<string, unknown> })
        expect((await refusal(wit, { attestation_type: TYPES.kubernetes, attestation, proof })).reason, reason).toBe(reason)
      }
      const { proof } = await wit.proof(attestation, { key, header: { alg: 'EdDSA' } })
      expect((await refusal(wit, { attestation_type: TYPES.kubernetes, attestation, proof })).reason).toBe('proof_alg_mismatch')
    })

    it('roles the policy does not grant, and roles the issuer never asserts', async () => {
      const escalate = await wit.request(TYPES.kubernetes, await wit.saToken('reviews', 'reviews'), { roles: ['reviews-reader', 'hr-admin'] })
      expect(await refusal(wit, escalate)).toEqual({ reason: 'role_not_granted', status: 400 })
      const invent = await wit.request(TYPES.kubernetes, await wit.saToken('reviews', 'reviews'), { roles: ['admin'] })
      expect((await refusal(wit, invent)).reason).toBe('role_not_granted')
      const claimSmuggling = await wit.request(TYPES.kubernetes, await wit.saToken('reviews', 'reviews'), { [WIT_CLAIM]: { roles: ['hr-admin'] } })
      expect((await refusal(wit, claimSmuggling)).reason).toBe('parameter_unknown')
      // A `__proto__` member of the JSON body is a member like any other: refused, never inherited.
      const body = await wit.request(TYPES.kubernetes, await wit.saToken('reviews', 'reviews'))
      const polluted = `{"__proto__":{"roles":["hr-admin"]},${JSON.stringify(body).slice(1)}`
      expect(await wit.postWit(polluted)).toMatchObject({ status: 400, body: { error: 'invalid_request' } })
      expect(await lastRecord(wit)).toMatchObject({ reason: 'parameter_unknown' })
    })

    it('what the policy denies, and attestation types the issuer is not configured for', async () => {
      const system = await wit.request(TYPES.kubernetes, await wit.saToken('kube-system', 'coredns'))
      expect(await refusal(wit, system)).toEqual({ reason: 'policy_denied', status: 400 })
      expect(await lastRecord(wit)).toMatchObject({ outcome: 'denied', effect: 'EFFECT_DENY', workloadId: `spiffe://${TRUST_DOMAIN}/ns/kube-system/sa/coredns` })
      expect((await refusal(wit, { attestation_type: 'x509_svid', attestation: 'a.b.c', proof: 'a.b.c' })).reason).toBe('attestation_type_unsupported')
    })

    it('identifiers that cannot be mapped into the trust domain', async () => {
      const odd = await wit.saToken('reviews', 'reviews', { sub: 'system:serviceaccount:reviews:..', 'kubernetes.io': { namespace: 'reviews', serviceaccount: { name: '..' } } })
      expect((await refusal(wit, await wit.request(TYPES.kubernetes, odd))).reason).toBe('subject_unmappable')
    })
  })
})

describe('WIT issuance fails closed', () => {
  it('answers 503 when the policy cannot be evaluated', async () => {
    const embedded = await EmbeddedEngine.fromDirectory(POLICY_DIR)
    const failing: DecisionEngine = Object.assign(Object.create(embedded) as DecisionEngine, {
      checkResources: () => Promise.reject(new Error('policy store unreachable')),
    })
    const wit = await startWitIssuer({ engine: failing })
    try {
      const { status, body } = await wit.postWit(await wit.request(TYPES.kubernetes, await wit.saToken('reviews', 'reviews')))
      expect(status).toBe(503)
      expect(body).toMatchObject({ error: 'temporarily_unavailable' })
      expect(body['wit']).toBeUndefined()
      expect(await lastRecord(wit)).toMatchObject({ outcome: 'error', reason: 'engine_unavailable' })
    } finally {
      await wit.close()
    }
  })

  it('answers 503 when the cluster keys cannot be fetched', async () => {
    const wit = await startWitIssuer({}, { kubernetes: [{ cluster: 'prod', issuer: CLUSTER_ISSUER, keys: { jwksUrl: 'http://127.0.0.1:9/jwks' }, timeoutMs: 2000 }] })
    try {
      expect(await refusal(wit, await wit.request(TYPES.kubernetes, await wit.saToken('reviews', 'reviews')))).toEqual({ reason: 'attestation_keys_unavailable', status: 503 })
    } finally {
      await wit.close()
    }
  })
})

describe('WIT signing keys', () => {
  const base = Date.now()
  let offset = 0
  let wit: WitFixture
  beforeAll(async () => {
    wit = await startWitIssuer({ clock: () => base + offset, keyActivationDelay: 60, clockTolerance: 30 }, { lifetime: 600 })
  })
  afterAll(() => wit.close())

  const kids = (path: string): Promise<string[]> =>
    fetch(`${wit.url}${path}`)
      .then((r) => r.json() as Promise<{ keys: Array<{ kid: string }> }>)
      .then((jwks) => jwks.keys.map((k) => k.kid))
  const issue = async (): Promise<string> => {
    const { body } = await wit.postWit(await wit.request(TYPES.jwtSvid, await wit.svid(REVIEWS)))
    return String(body['wit'])
  }

  it('are published apart from the Txn-Token keys, cacheable for half the activation delay', async () => {
    expect(await kids('/.well-known/wit-jwks.json')).toEqual(['wit-1'])
    expect((await fetch(`${wit.url}/.well-known/wit-jwks.json`)).headers.get('cache-control')).toBe('public, max-age=30')
    expect(await kids('/.well-known/jwks.json')).toEqual(['tts-1'])
    const metadata = (await (await fetch(`${wit.url}/.well-known/oauth-authorization-server`)).json()) as Record<string, unknown>
    expect(metadata).toMatchObject({ wit_endpoint: `${wit.url}/wit`, wit_jwks_uri: `${wit.url}/.well-known/wit-jwks.json` })
  })

  it('rotate without a restart: the new key is published before it signs, the old one kept while its WITs live', async () => {
    const before = await issue()
    wit.service.wit?.rotateKey({ key: generateKeyPairSync('ed25519').privateKey, kid: 'wit-2' })
    expect(await kids('/.well-known/wit-jwks.json')).toEqual(['wit-1', 'wit-2'])
    expect(headerOf(await issue())['kid']).toBe('wit-1')

    offset = 61_000
    const after = await issue()
    expect(headerOf(after)).toMatchObject({ kid: 'wit-2', alg: 'EdDSA' })
    // Both verify against the published set while the old WIT lives (lifetime 600 + tolerance 30).
    offset = 60_000 + 630_000
    const jwks = createLocalJWKSet((await (await fetch(`${wit.url}/.well-known/wit-jwks.json`)).json()) as Parameters<typeof createLocalJWKSet>[0])
    const at = new Date(base)
    for (const token of [before, after]) await expect(jwtVerify(token, jwks, { currentDate: at })).resolves.toBeDefined()
    offset = 60_000 + 631_000
    expect(await kids('/.well-known/wit-jwks.json')).toEqual(['wit-2'])
  })

  it('refuses keys that cannot sign WITs', () => {
    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey
    expect(() => wit.service.wit?.rotateKey({ key: rsa, kid: 'wit-rsa' })).toThrow(ConfigError)
  })
})

describe('WIT issuer configuration', () => {
  it('refuses RSA WIT keys and an issuer without attestation sources', async () => {
    const authorities = { cluster: generateFixtureKey('ES256'), employee: generateFixtureKey(), spire: generateFixtureKey('ES256') }
    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey
    await expect(startWitIssuer({ wit: witOptions(authorities, { signingKeys: [{ key: rsa, kid: 'r' }] }) })).rejects.toThrow(/wit\.signingKeys\[0\]\.key/)
    await expect(startWitIssuer({ wit: witOptions(authorities, { kubernetes: [], registeredKeys: [], spiffe: [] }) })).rejects.toThrow(/attestation source/)
    await expect(startWitIssuer({}, { kubernetes: [{ cluster: 'prod', issuer: CLUSTER_ISSUER, keys: { jwks: { keys: [] } }, subject: 'spiffe://{trustDomain}/{pod}' }] })).rejects.toThrow(
      /unknown placeholder/,
    )
  })

  it('lets callees cache the WIT keys for half the WIT activation delay', async () => {
    const wit = await startWitIssuer({ keyActivationDelay: 60 }, { keyActivationDelay: 20 })
    try {
      const maxAge = async (path: string): Promise<string | null> => (await fetch(`${wit.url}${path}`)).headers.get('cache-control')
      expect(await maxAge('/.well-known/wit-jwks.json')).toBe('public, max-age=10')
      expect(await maxAge('/.well-known/jwks.json')).toBe('public, max-age=30')
    } finally {
      await wit.close()
    }
  })

  it('ships an example policy that passes its own tests', async () => {
    const results = await runPolicyTests(POLICY_DIR)
    const suite = results.suites.find((s) => s.name === 'WorkloadIdentityIssuance')
    expect(suite?.summary.overallResult).toBe('RESULT_PASSED')
    expect(suite?.summary.testsCount).toBe(8)
  })
})
