/**
 * Threats to the WIT issuer (T64–T68): what an attacker can try at `POST /wit` of the Txn-Token
 * Service, each over real HTTP on loopback, each asserting the HTTP answer and the stable reason
 * code of the audit record the issuer wrote for the refusal.
 */
import { generateKeyPairSync } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { EmbeddedEngine, type DecisionEngine } from '@meshguard/core'
import { WIT_CLAIM } from '../../packages/txn-token-service/src/index.js'
import { claimsOf, POLICY_DIR } from '../../packages/txn-token-service/test/support/tts.js'
import { proofJwk, startWitIssuer, TYPES, type WitFixture } from '../../packages/txn-token-service/test/support/wit.js'
import { generateFixtureKey, TRUST_DOMAIN } from '../support/identity.js'

const REVIEWS = `spiffe://${TRUST_DOMAIN}/ns/reviews/sa/reviews`

/** POSTs `body` and returns the answer with the reason the audit record gives. */
async function attempt(wit: WitFixture, body: unknown): Promise<{ status: number; error: unknown; reason: unknown; wit: unknown }> {
  const before = wit.records.length
  const answer = await wit.postWit(body)
  await wit.audit.flush()
  expect(wit.records.length).toBe(before + 1)
  const record = wit.records.at(-1)
  return { status: answer.status, error: answer.body['error'], reason: record?.reason, wit: answer.body['wit'] }
}

describe('WIT issuer threats', () => {
  let wit: WitFixture
  beforeAll(async () => {
    wit = await startWitIssuer()
  })
  afterAll(() => wit.close())

  it('T62 an intercepted issuance request cannot be replayed or re-keyed', async () => {
    const attestation = await wit.clientAssertion()
    const { proof } = await wit.proof(attestation)
    expect((await attempt(wit, { attestation_type: TYPES.privateKeyJwt, attestation, proof })).status).toBe(200)
    // The same request again: the assertion is spent.
    expect(await attempt(wit, { attestation_type: TYPES.privateKeyJwt, attestation, proof })).toMatchObject({ status: 401, error: 'invalid_client', reason: 'client_assertion_replayed' })
    // The attacker's own proof for the spent assertion: still spent.
    const own = await wit.proof(attestation)
    expect(await attempt(wit, { attestation_type: TYPES.privateKeyJwt, attestation, proof: own.proof })).toMatchObject({ status: 401, reason: 'client_assertion_replayed' })
    // A fresh attestation with the victim's proof re-keyed to the attacker's jwk: the signature no longer holds.
    const fresh = await wit.saToken('reviews', 'reviews')
    const attacker = generateFixtureKey('ES256')
    const victim = await wit.proof(fresh)
    const [, payload, signature] = victim.proof.split('.')
    const header = Buffer.from(JSON.stringify({ alg: 'ES256', typ: 'wit-pop+jwt', jwk: proofJwk(attacker) })).toString('base64url')
    expect(await attempt(wit, { attestation_type: TYPES.kubernetes, attestation: fresh, proof: `${header}.${payload}.${signature}` })).toMatchObject({ status: 400, reason: 'proof_signature' })
    // The victim's proof with another attestation: the proof hashes the attestation it was made for.
    const other = await wit.saToken('hr', 'employee-service')
    expect(await attempt(wit, { attestation_type: TYPES.kubernetes, attestation: other, proof: victim.proof })).toMatchObject({ status: 400, reason: 'proof_attestation_mismatch' })
    // And the request itself only once.
    expect((await attempt(wit, { attestation_type: TYPES.kubernetes, attestation: fresh, proof: victim.proof })).status).toBe(200)
    expect(await attempt(wit, { attestation_type: TYPES.kubernetes, attestation: fresh, proof: victim.proof })).toMatchObject({ status: 400, reason: 'proof_replayed' })
  })

  it('T63 a workload asking for roles gets none the policy does not grant', async () => {
    const ask = async (extra: Record<string, unknown>): Promise<Awaited<ReturnType<typeof attempt>>> =>
      attempt(wit, await wit.request(TYPES.kubernetes, await wit.saToken('reviews', 'reviews'), extra))
    expect(await ask({ roles: ['hr-admin'] })).toMatchObject({ status: 400, error: 'invalid_scope', reason: 'role_not_granted' })
    expect(await ask({ roles: ['admin'] })).toMatchObject({ status: 400, reason: 'role_not_granted' })
    expect(await ask({ [WIT_CLAIM]: { roles: ['hr-admin'] } })).toMatchObject({ status: 400, reason: 'parameter_unknown' })
    // Roles written into the attestation's own claims are not the issuer's say either.
    const granted = await attempt(wit, await wit.request(TYPES.kubernetes, await wit.saToken('reviews', 'reviews', { roles: ['hr-admin'], [WIT_CLAIM]: { roles: ['hr-admin'] } })))
    expect(granted.status).toBe(200)
    expect(claimsOf(granted.wit)[WIT_CLAIM]).toMatchObject({ roles: ['reviews-reader'] })
  })

  it('T64 an attestation made for another audience or by an unconfigured authority is refused', async () => {
    const forTts = await wit.saToken('reviews', 'reviews', { aud: [`${wit.url}/token`] })
    expect(await attempt(wit, await wit.request(TYPES.kubernetes, forTts))).toMatchObject({ status: 400, reason: 'attestation_audience' })
    const otherCluster = await wit.saToken('reviews', 'reviews', { iss: 'https://oidc.eks.example/id/ABC' })
    expect(await attempt(wit, await wit.request(TYPES.kubernetes, otherCluster))).toMatchObject({ status: 400, reason: 'attestation_issuer_unknown' })
    const unregistered = await wit.clientAssertion({ iss: `spiffe://${TRUST_DOMAIN}/ns/shop/sa/orders`, sub: `spiffe://${TRUST_DOMAIN}/ns/shop/sa/orders` })
    expect(await attempt(wit, await wit.request(TYPES.privateKeyJwt, unregistered))).toMatchObject({ status: 400, reason: 'attestation_issuer_unknown' })
  })

  it('T65 a cnf key that is symmetric, carries private material or disagrees with its alg is refused', async () => {
    const attestation = await wit.saToken('reviews', 'reviews')
    const key = generateFixtureKey('ES256')
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ kty: 'oct', k: 'c2VjcmV0', alg: 'HS256' }, 'cnf_key_private'],
      [{ ...proofJwk(key), d: key.privateKey.export({ format: 'jwk' }).d }, 'cnf_key_private'],
      [{ ...(generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey.export({ format: 'jwk' }) as Record<string, unknown>), alg: 'RS256' }, 'cnf_key_alg_unsupported'],
      [{ ...proofJwk(key), crv: 'Ed25519' }, 'cnf_key_mismatch'],
    ]
    for (const [jwk, reason] of cases) {
      const { proof } = await wit.proof(attestation, { key, jwk })
      expect(await attempt(wit, { attestation_type: TYPES.kubernetes, attestation, proof }), reason).toMatchObject({ status: 400, reason })
    }
  })

  it('T66 an attestation cannot steer the identifier out of its segment or its trust domain', async () => {
    const traversal = await wit.saToken('reviews', 'x', { sub: 'system:serviceaccount:reviews:..', 'kubernetes.io': { namespace: 'reviews', serviceaccount: { name: '..' } } })
    expect(await attempt(wit, await wit.request(TYPES.kubernetes, traversal))).toMatchObject({ status: 400, reason: 'subject_unmappable' })
    const slash = await wit.saToken('a', 'b', { sub: 'system:serviceaccount:a/sa/admin:b', 'kubernetes.io': { namespace: 'a/sa/admin', serviceaccount: { name: 'b' } } })
    expect(await attempt(wit, await wit.request(TYPES.kubernetes, slash))).toMatchObject({ status: 400, reason: 'subject_unmappable' })
  })

  it('T67 the issuer fails closed when its policy cannot be evaluated', async () => {
    const embedded = await EmbeddedEngine.fromDirectory(POLICY_DIR)
    const broken: DecisionEngine = Object.assign(Object.create(embedded) as DecisionEngine, { checkResources: () => Promise.reject(new Error('store down')) })
    const failing = await startWitIssuer({ engine: broken })
    try {
      expect(await attempt(failing, await failing.request(TYPES.kubernetes, await failing.saToken('reviews', 'reviews')))).toMatchObject({
        status: 503,
        error: 'temporarily_unavailable',
        reason: 'engine_unavailable',
        wit: undefined,
      })
    } finally {
      await failing.close()
    }
  })

  it('T68 no other token of the deployment passes for an attestation', async () => {
    // A WIT this issuer signed, presented as a JWT-SVID of its own sub.
    const issued = await attempt(wit, await wit.request(TYPES.jwtSvid, await wit.svid(REVIEWS)))
    expect(await attempt(wit, await wit.request(TYPES.jwtSvid, String(issued.wit)))).toMatchObject({ status: 400, reason: 'attestation_issuer_unknown' })
    // A Txn-Token of the same service, as a Kubernetes token.
    const { body } = await wit.post(await wit.form('gateway', await wit.userToken('alice')))
    expect(await attempt(wit, await wit.request(TYPES.kubernetes, String(body['access_token'])))).toMatchObject({ status: 400, reason: 'attestation_issuer_unknown' })
  })
})
