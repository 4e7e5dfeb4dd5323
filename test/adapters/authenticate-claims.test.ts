/**
 * Claim requirements on routes that are only authenticated: Express's app-level `authenticate()`,
 * Fastify's and Nest's `unconfigured` options. A bad requirement is a `ConfigError` at registration;
 * per request, unmet claims are refused exactly as on a route (403 `insufficient_claims`, or the
 * RFC 9470 step-up 401), with claims read from the verified actor token only.
 */
import type { Guard } from '@meshguard/core'
import type { ClaimsRequirement } from '@meshguard/core/edge'
import { DEFAULT_ACTOR_HEADER } from '@meshguard/core'
import { authenticate } from '@meshguard/express'
import meshguard from '@meshguard/fastify'
import { MeshguardGuard } from '@meshguard/nestjs'
import { Reflector } from '@nestjs/core'
import express from 'express'
import Fastify from 'fastify'
import { createServer, type Server } from 'node:http'
import { request } from 'undici'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startUnconfiguredNestApp } from '../../packages/nestjs/test/support/unconfigured-app.js'
import { configOptionOf } from '../support/failures.js'
import { CLAIMS_CHALLENGE, stepUpChallenge } from './claims-cases.js'
import { SERVICE } from './contract.js'
import { closeServer, urlOf } from './drivers.js'
import { createGuardFixture, type GuardFixture } from './guard-fixture.js'

const CLAIMS: ClaimsRequirement = { tenant: 'acme', acr: 'urn:example:mfa' }
const now = (): number => Math.floor(Date.now() / 1000)

let fixture: GuardFixture
const stops: (() => Promise<void>)[] = []

async function startExpress(guard: Guard): Promise<string> {
  const app = express()
  app.use(authenticate(guard, { claims: CLAIMS, public: ['/health'] }))
  app.get('/me', (req, res) => {
    res.json({ actor: req.meshguard?.caller.actor?.id ?? null })
  })
  const server: Server = createServer(app)
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  stops.push(() => closeServer(server))
  return urlOf(server)
}

async function startFastify(guard: Guard): Promise<string> {
  const app = Fastify({ logger: false })
  await app.register(meshguard, { guard, unconfigured: { claims: CLAIMS } })
  app.get('/me', async (request) => ({ actor: request.meshguard?.caller.actor?.id ?? null }))
  await app.listen({ port: 0, host: '127.0.0.1' })
  stops.push(() => app.close())
  const address = app.server.address()
  if (address === null || typeof address === 'string') throw new Error('fastify is not listening on TCP')
  return `http://127.0.0.1:${address.port}`
}

async function startNest(guard: Guard): Promise<string> {
  const app = await startUnconfiguredNestApp(guard, { claims: CLAIMS })
  stops.push(app.close)
  return app.url
}

/** Headers of employee-service acting for alice, whose actor token carries `claims`. */
async function actingWith(claims: Record<string, unknown>, workloadClaims: Record<string, unknown> = {}): Promise<Record<string, string>> {
  const actor = await fixture.ids.mintActorToken('alice', { claims })
  const workload = await fixture.ids.mintWorkloadToken('employee-service', { audience: SERVICE, actorToken: actor, claims: workloadClaims })
  return { authorization: `Bearer ${workload}`, [DEFAULT_ACTOR_HEADER]: actor }
}

async function get(url: string, headers: Record<string, string>): Promise<{ status: number; reason: unknown; wwwAuthenticate: unknown }> {
  const res = await request(url, { headers })
  const body = (await res.body.json()) as Record<string, unknown>
  return { status: res.statusCode, reason: body['reason'], wwwAuthenticate: res.headers['www-authenticate'] }
}

const apps = new Map<string, string>()
beforeAll(async () => {
  fixture = await createGuardFixture()
  apps.set('express authenticate()', await startExpress(fixture.guard))
  apps.set('fastify unconfigured', await startFastify(fixture.guard))
  apps.set('nest unconfigured', await startNest(fixture.guard))
})

afterAll(async () => {
  await Promise.all(stops.map((stop) => stop()))
  await fixture.audit.close()
})

describe.each(['express authenticate()', 'fastify unconfigured', 'nest unconfigured'])('claims on %s', (name) => {
  const url = (): string => `${apps.get(name)!}/me`

  it('lets a caller whose actor token meets them in', async () => {
    const answer = await get(url(), await actingWith({ tenant: 'acme', acr: 'urn:example:mfa' }))
    expect(answer.status).toBe(200)
  })

  it('refuses a tenant the requirement does not list with 403 insufficient_claims', async () => {
    const answer = await get(url(), await actingWith({ tenant: 'initech', acr: 'urn:example:mfa' }))
    expect(answer).toEqual({ status: 403, reason: 'insufficient_claims', wwwAuthenticate: CLAIMS_CHALLENGE })
  })

  it('asks for a step-up when only acr is unmet', async () => {
    const answer = await get(url(), await actingWith({ tenant: 'acme', acr: 'urn:example:pwd', auth_time: now() }))
    expect(answer).toEqual({ status: 401, reason: 'insufficient_user_authentication', wwwAuthenticate: stepUpChallenge('acr_values="urn:example:mfa"') })
  })

  it('does not count claims the workload token asserts about the user', async () => {
    const answer = await get(url(), await actingWith({}, { tenant: 'acme', acr: 'urn:example:mfa' }))
    expect(answer.status).toBe(403)
    expect(answer.reason).toBe('insufficient_claims')
  })

  it('refuses a caller acting for nobody (no actor token, no claims)', async () => {
    const workload = await fixture.ids.mintWorkloadToken('employee-service', { audience: SERVICE })
    const answer = await get(url(), { authorization: `Bearer ${workload}` })
    expect(answer.status).toBe(403)
    expect(answer.reason).toBe('insufficient_claims')
  })
})

describe('claims on authentication-only routes at registration', () => {
  const bad = { tenant: [] } as unknown as ClaimsRequirement

  it('refuses a bad requirement on every adapter with a ConfigError naming it', async () => {
    expect(configOptionOf(() => authenticate(fixture.guard, { claims: bad }))).toBe('authenticate().claims.tenant')
    const app = Fastify({ logger: false })
    stops.push(() => app.close())
    const registered = app.register(meshguard, { guard: fixture.guard, unconfigured: { claims: bad } })
    await expect(registered).rejects.toMatchObject({ code: 'ERR_AUTHZ_INVALID_CONFIG', option: 'unconfigured.claims.tenant' })
    expect(configOptionOf(() => new MeshguardGuard(new Reflector(), { guard: fixture.guard, unconfigured: { claims: bad } }))).toBe('MeshguardModule.unconfigured.claims.tenant')
  })
})
