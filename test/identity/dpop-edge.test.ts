/**
 * DPoP (RFC 9449) at the edge over real HTTP on loopback: a gateway verifies each request's access
 * token with `createEdgeVerifier`; a token bound to a key (`cnf.jkt`) works only with a valid proof
 * for that request, and is never accepted as a plain bearer token.
 */
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { MeshguardError } from '../../packages/core/src/errors.js'
import {
  createEdgeVerifier,
  createIdentityVerifier,
  headerViewOf,
  type EdgeVerifier,
  type EdgeVerifierOptions,
} from '../../packages/core/src/identity/index.js'
import { createIdentityFixture, serviceId, type IdentityFixture } from '../support/identity.js'
import { configOptionOf } from '../support/failures.js'
import { b64, clientKey, proof, type ClientKey } from '../support/dpop.js'

describe('DPoP at the edge', () => {
  let ids: IdentityFixture
  let edge: EdgeVerifier
  let base: string
  const servers: Server[] = []
  const alice = clientKey()

  /** A gateway on loopback: 200 with the actor, or 401/503 with the reason and the challenge headers. */
  async function startGateway(options: Partial<EdgeVerifierOptions>): Promise<{ url: string; verifier: EdgeVerifier }> {
    const verifier = createEdgeVerifier({ trust: ids.trust(), ...options })
    const server = createServer((req, res) => {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}${req.url ?? '/'}`
      verifier.verify({ method: req.method ?? 'GET', url, headers: headerViewOf(req) }).then(
        (caller) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ actor: caller.actor.id, boundKey: caller.boundKey })),
        (err: unknown) => {
          const status = err instanceof MeshguardError ? err.httpStatus : 500
          const headers = status === 401 ? verifier.challenge(err) : {}
          res.writeHead(status, { ...headers, 'content-type': 'application/json' }).end(JSON.stringify({ reason: (err as MeshguardError).reason }))
        },
      )
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    servers.push(server)
    return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, verifier }
  }

  beforeAll(async () => {
    ids = await createIdentityFixture({ services: ['gateway', 'employee-service', 'review-service'] })
    const gateway = await startGateway({})
    base = gateway.url
    edge = gateway.verifier
  })
  afterAll(async () => {
    await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))))
  })

  const bound = (key: ClientKey = alice, cnf: unknown = { jkt: key.jkt }) => ids.mintActorToken('alice', { claims: { cnf } })

  async function send(url: string, init: { method?: string; authorization?: string; dpop?: string | string[] } = {}) {
    const headers = new Headers()
    if (init.authorization !== undefined) headers.set('authorization', init.authorization)
    for (const value of [init.dpop ?? []].flat()) headers.append('dpop', value)
    const res = await fetch(url, { method: init.method ?? 'GET', headers })
    return { status: res.status, body: (await res.json()) as { actor?: string; boundKey?: string; reason?: string }, headers: res.headers }
  }

  it('accepts a bound token with a valid proof for this request', async () => {
    const token = await bound()
    const url = `${base}/api/reviews/1`
    const res = await send(`${url}?page=2`, { authorization: `DPoP ${token}`, dpop: proof(alice, { method: 'GET', url, token }) })
    expect(res.status).toBe(200)
    expect(res.body).toEqual({ actor: 'alice', boundKey: alice.jkt })
  })

  it('never downgrades a bound token to a bearer token', async () => {
    const token = await bound()
    const url = `${base}/api/reviews/1`
    const asBearer = await send(url, { authorization: `Bearer ${token}` })
    expect(asBearer).toMatchObject({ status: 401, body: { reason: 'dpop_required' } })
    expect(asBearer.headers.get('www-authenticate')).toContain('DPoP error="invalid_token"')
    // A proof does not rescue the Bearer scheme, and the DPoP scheme needs the proof.
    const bearerWithProof = await send(url, { authorization: `Bearer ${token}`, dpop: proof(alice, { method: 'GET', url, token }) })
    expect(bearerWithProof.body.reason).toBe('dpop_required')
    expect((await send(url, { authorization: `DPoP ${token}` })).body.reason).toBe('dpop_required')
  })

  it('refuses proofs that fail any check of RFC 9449 §4.3', async () => {
    const token = await bound()
    const other = await bound()
    const url = `${base}/api/reviews/1`
    const stranger = clientKey()
    const request = { method: 'GET', url, token }
    const cases: Array<[string, string | string[], string]> = [
      ['wrong method', proof(alice, { ...request, method: 'POST' }), 'dpop_proof_invalid'],
      ['wrong URI', proof(alice, { ...request, url: `${base}/api/reviews/2` }), 'dpop_proof_invalid'],
      ['another host', proof(alice, { ...request, url: 'http://127.0.0.2/api/reviews/1' }), 'dpop_proof_invalid'],
      ['too old', proof(alice, request, { claims: { iat: Math.floor(Date.now() / 1000) - 120 } }), 'dpop_proof_invalid'],
      ['from the future', proof(alice, request, { claims: { iat: Math.floor(Date.now() / 1000) + 120 } }), 'dpop_proof_invalid'],
      ['no jti', proof(alice, request, { claims: { jti: undefined } }), 'dpop_proof_invalid'],
      ['bound to another token (ath)', proof(alice, { ...request, token: other }), 'dpop_proof_invalid'],
      ['no ath', proof(alice, request, { claims: { ath: undefined } }), 'dpop_proof_invalid'],
      ['wrong typ', proof(alice, request, { header: { typ: 'JWT' } }), 'dpop_proof_invalid'],
      ['alg none', `${b64({ typ: 'dpop+jwt', alg: 'none', jwk: alice.jwk })}.${b64({ jti: 'x', htm: 'GET', htu: url, iat: Math.floor(Date.now() / 1000) })}.`, 'dpop_proof_invalid'],
      ['HS256', proof(alice, request, { header: { alg: 'HS256' } }), 'dpop_proof_invalid'],
      ['private key in jwk', proof(alice, request, { header: { jwk: { ...alice.jwk, d: 'AAAA' } } }), 'dpop_proof_invalid'],
      ['no jwk', proof(alice, request, { header: { jwk: undefined } }), 'dpop_proof_invalid'],
      ['signed by another key than its jwk', proof(alice, request, { signWith: stranger.privateKey }), 'dpop_proof_invalid'],
      ['another key than the token is bound to', proof(stranger, request), 'dpop_key_mismatch'],
      ['not a JWS', 'not-a-proof', 'dpop_proof_invalid'],
      ['two DPoP headers', [proof(alice, request), proof(alice, request)], 'duplicate_header'],
    ]
    for (const [name, dpop, reason] of cases) {
      const res = await send(url, { authorization: `DPoP ${token}`, dpop })
      expect([name, res.status, res.body.reason]).toEqual([name, 401, reason])
    }
    const invalid = await send(url, { authorization: `DPoP ${token}`, dpop: proof(alice, { ...request, method: 'PUT' }) })
    expect(invalid.headers.get('www-authenticate')).toContain('DPoP error="invalid_dpop_proof"')
  })

  it('accepts each proof once', async () => {
    const token = await bound()
    const url = `${base}/api/reviews/1`
    const once = proof(alice, { method: 'GET', url, token })
    expect((await send(url, { authorization: `DPoP ${token}`, dpop: once })).status).toBe(200)
    expect((await send(url, { authorization: `DPoP ${token}`, dpop: once })).body.reason).toBe('dpop_proof_replayed')
  })

  it('refuses an unbound token on the DPoP scheme, a cnf it cannot check, and bearer tokens when DPoP is required', async () => {
    const url = `${base}/api/reviews/1`
    const plain = await ids.mintActorToken('ed')
    expect((await send(url, { authorization: `Bearer ${plain}` })).body).toEqual({ actor: 'ed' })
    expect((await send(url, { authorization: `DPoP ${plain}`, dpop: proof(alice, { method: 'GET', url, token: plain }) })).body.reason).toBe('dpop_key_mismatch')
    const mtlsBound = await bound(alice, { 'x5t#S256': 'abc' })
    expect((await send(url, { authorization: `Bearer ${mtlsBound}` })).body.reason).toBe('cnf_unsupported')
    const strict = await startGateway({ dpop: { required: true } })
    const res = await send(`${strict.url}/x`, { authorization: `Bearer ${plain}` })
    expect(res.body.reason).toBe('dpop_required')
    expect(res.headers.get('www-authenticate')).not.toContain('Bearer')
    expect((await send(`${strict.url}/x`)).status).toBe(401)
  })

  it('with server nonces, asks for one and accepts the proof that carries it', async () => {
    const withNonce = await startGateway({ dpop: { nonce: { secret: 'a-secret-of-at-least-thirty-two-bytes!!' } } })
    const token = await bound()
    const url = `${withNonce.url}/api/orders`
    const first = await send(url, { method: 'POST', authorization: `DPoP ${token}`, dpop: proof(alice, { method: 'POST', url, token }) })
    expect(first).toMatchObject({ status: 401, body: { reason: 'dpop_nonce_required' } })
    expect(first.headers.get('www-authenticate')).toContain('error="use_dpop_nonce"')
    const nonce = first.headers.get('dpop-nonce') as string
    expect(nonce).toMatch(/^[0-9a-z]+\.[A-Za-z0-9_-]+$/)
    const forged = await send(url, { method: 'POST', authorization: `DPoP ${token}`, dpop: proof(alice, { method: 'POST', url, token }, { claims: { nonce: `${nonce}x` } }) })
    expect(forged.body.reason).toBe('dpop_nonce_required')
    const retry = await send(url, { method: 'POST', authorization: `DPoP ${token}`, dpop: proof(alice, { method: 'POST', url, token }, { claims: { nonce } }) })
    expect(retry.status).toBe(200)
  })

  it('past the edge, a bound actor token passes only bound (ath) to the workload token', async () => {
    const token = await bound()
    const { workloads } = ids.trust()
    if (workloads === undefined) throw new Error('the identity fixture trusts its workloads')
    const unbindingAnchor = createIdentityVerifier({
      audience: serviceId('review-service'),
      trust: {
        ...ids.trust(),
        workloads: workloads.map((w) => ({ ...w, requireActorBinding: false })),
      },
    })
    const headers = { authorization: `Bearer ${await ids.mintWorkloadToken('employee-service', { audience: 'review-service' })}`, 'x-meshguard-actor': token }
    const err = await unbindingAnchor.verify(headers).catch((e: unknown) => e)
    expect((err as MeshguardError).reason).toBe('actor_binding_mismatch')
    const binding = createIdentityVerifier(ids.verifierOptions('review-service'))
    const caller = await binding.verify({
      authorization: `Bearer ${await ids.mintWorkloadToken('employee-service', { audience: 'review-service', actorToken: token })}`,
      'x-meshguard-actor': token,
    })
    expect(caller.actor?.id).toBe('alice')
  })

  it('refuses unusable options at start-up', () => {
    const optionOf = (options: Partial<EdgeVerifierOptions>): string => configOptionOf(() => createEdgeVerifier({ trust: ids.trust(), ...options }))
    expect(optionOf({ dpop: { algorithms: ['HS256'] } })).toBe('edge.dpop.algorithms')
    expect(optionOf({ dpop: { maxProofAge: 0 } })).toBe('edge.dpop.maxProofAge')
    expect(optionOf({ dpop: { nonce: { secret: 'short' } } })).toBe('edge.dpop.nonce.secret')
    expect(optionOf({ clockTolerance: 120 })).toBe('edge.clockTolerance')
    expect(edge.nonce()).toBeUndefined()
  })
})
