/**
 * A Txn-Token Service with its WIT issuer on loopback for tests: one Kubernetes cluster ("prod"),
 * one registered workload key (the HR employee service), one SPIFFE trust domain's JWT bundle,
 * the shipped example policies, and helpers that mint attestations and proofs of possession with
 * node:crypto directly (independent of the code under test).
 */
import { createHash, generateKeyPairSync, randomBytes, randomUUID } from 'node:crypto'
import { WIT_ATTESTATION_TYPES, WIT_PROOF_TYP } from '@meshguard/core/wimse'
import type { TxnTokenServiceOptions, WitIssuerOptions } from '../../src/index.js'
import { generateFixtureKey, sign, TRUST_DOMAIN, type FixtureKey } from '../../../../test/support/identity.js'
import { startTts, type TtsFixture } from './tts.js'

/** The cluster's service-account token issuer. */
export const CLUSTER_ISSUER = 'https://kubernetes.default.svc.cluster.local'
/** The registered workload (private_key_jwt). */
export const EMPLOYEE_SERVICE = `spiffe://${TRUST_DOMAIN}/ns/hr/sa/employee-service`
/** The roles the test issuer may assert (the example policy grants them by identifier). */
export const WIT_ROLES = ['reviews-reader', 'hr-admin']

/** Keys of the attestation authorities. */
export interface WitAuthorities {
  readonly cluster: FixtureKey
  readonly employee: FixtureKey
  readonly spire: FixtureKey
}

/** A running issuer and what tests need around it. */
export interface WitFixture extends TtsFixture {
  readonly authorities: WitAuthorities
  /** A projected service-account token of `namespace/serviceAccount`; `claims` override or (undefined) drop members. */
  saToken(namespace: string, serviceAccount: string, claims?: Record<string, unknown>, key?: FixtureKey): Promise<string>
  /** A fresh RFC 7523 assertion of the registered employee service. */
  clientAssertion(claims?: Record<string, unknown>): Promise<string>
  /** A JWT-SVID of `spiffeId` from the test SPIRE. */
  svid(spiffeId: string, claims?: Record<string, unknown>, key?: FixtureKey): Promise<string>
  /** A proof of possession for `attestation` by `key` (a fresh ES256 key when omitted). */
  proof(attestation: string, options?: ProofOptions): Promise<{ proof: string; key: FixtureKey }>
  /** A complete request body for `attestation` of `type`, with a fresh key and proof. */
  request(type: string, attestation: string, extra?: Record<string, unknown>): Promise<Record<string, unknown>>
  /** POSTs a JSON body to `/wit`. */
  postWit(body: unknown, headers?: Record<string, string>): Promise<{ status: number; body: Record<string, unknown> }>
}

/** How to build (or break) a proof. */
export interface ProofOptions {
  key?: FixtureKey | undefined
  /** The JWK put in the header. @defaultValue the signing key's public JWK */
  jwk?: Record<string, unknown> | undefined
  header?: Record<string, unknown> | undefined
  claims?: Record<string, unknown> | undefined
}

const now = (): number => Math.floor(Date.now() / 1000)
const sha256 = (text: string): string => createHash('sha256').update(text).digest('base64url')

/** The workload's public JWK as a client sends it: key members and `alg`. */
export function proofJwk(key: FixtureKey): Record<string, unknown> {
  const { kty, crv, x, y } = key.publicJwk
  return Object.fromEntries(Object.entries({ kty, crv, x, y, alg: key.alg }).filter(([, v]) => v !== undefined))
}

/** WIT issuer options for the fixture's authorities. */
export function witOptions(authorities: WitAuthorities, overrides: Partial<WitIssuerOptions> = {}): WitIssuerOptions {
  return {
    signingKeys: [{ key: generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey, kid: 'wit-1' }],
    roles: WIT_ROLES,
    attributes: ['namespace', 'cluster'],
    kubernetes: [{ cluster: 'prod', issuer: CLUSTER_ISSUER, keys: { jwks: { keys: [authorities.cluster.publicJwk] } } }],
    registeredKeys: [{ clientId: EMPLOYEE_SERVICE, keys: { jwks: { keys: [authorities.employee.publicJwk] } } }],
    spiffe: [{ trustDomain: TRUST_DOMAIN, keys: { jwks: { keys: [authorities.spire.publicJwk] } } }],
    ...overrides,
  }
}

/** Starts a service with its WIT issuer on 127.0.0.1. */
export async function startWitIssuer(overrides: Partial<TxnTokenServiceOptions> = {}, wit: Partial<WitIssuerOptions> = {}): Promise<WitFixture> {
  const authorities: WitAuthorities = { cluster: generateFixtureKey('ES256', 'cluster-1'), employee: generateFixtureKey('EdDSA', 'employee-1'), spire: generateFixtureKey('ES256', 'spire-1') }
  const tts = await startTts({ wit: witOptions(authorities, wit), ...overrides })
  const issuer = tts.service.issuer

  const saToken: WitFixture['saToken'] = (namespace, serviceAccount, claims = {}, key = authorities.cluster) =>
    sign(key, { alg: key.alg, kid: key.kid }, {
      iss: CLUSTER_ISSUER,
      aud: [issuer],
      sub: `system:serviceaccount:${namespace}:${serviceAccount}`,
      iat: now(),
      nbf: now(),
      exp: now() + 600,
      'kubernetes.io': { namespace, serviceaccount: { name: serviceAccount, uid: randomUUID() }, pod: { name: `${serviceAccount}-7d4f`, uid: randomUUID() } },
      ...claims,
    })
  const clientAssertion: WitFixture['clientAssertion'] = (claims = {}) =>
    sign(authorities.employee, { alg: 'EdDSA', kid: authorities.employee.kid, typ: 'workload+jwt' }, {
      iss: EMPLOYEE_SERVICE,
      sub: EMPLOYEE_SERVICE,
      aud: issuer,
      iat: now(),
      exp: now() + 60,
      jti: randomUUID(),
      ...claims,
    })
  const svid: WitFixture['svid'] = (spiffeId, claims = {}, key = authorities.spire) =>
    sign(key, { alg: key.alg, kid: key.kid, typ: 'JWT' }, { sub: spiffeId, aud: [issuer], iat: now(), exp: now() + 300, ...claims })
  const proof: WitFixture['proof'] = async (attestation, options = {}) => {
    const key = options.key ?? generateFixtureKey('ES256')
    const header = { alg: key.alg, typ: WIT_PROOF_TYP, jwk: options.jwk ?? proofJwk(key), ...options.header }
    const claims = { aud: issuer, iat: now(), jti: randomBytes(16).toString('base64url'), ath: sha256(attestation), ...options.claims }
    return { proof: await sign(key, header, claims), key }
  }
  const request: WitFixture['request'] = async (type, attestation, extra = {}) => ({
    attestation_type: type,
    attestation,
    proof: (await proof(attestation)).proof,
    ...extra,
  })
  const postWit: WitFixture['postWit'] = async (body, headers = {}) => {
    const response = await fetch(`${issuer}/wit`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    })
    return { status: response.status, body: (await response.json()) as Record<string, unknown> }
  }
  return { ...tts, authorities, saToken, clientAssertion, svid, proof, request, postWit }
}

/** The attestation type names. */
export const TYPES = WIT_ATTESTATION_TYPES
