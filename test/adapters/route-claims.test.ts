/**
 * Route claim requirements are checked when the route is registered, the same way on every adapter:
 * a bad requirement throws a `ConfigError` naming it (Express `authorize()`, a Fastify route's
 * `config.meshguard`, Nest's `@Authorize()`), never a failure on each request.
 */
import type { Guard } from '@meshguard/core'
import type { ClaimsRequirement } from '@meshguard/core/edge'
import { authorize, authorizeList } from '@meshguard/express'
import meshguard from '@meshguard/fastify'
import { Authorize, AuthorizeList } from '@meshguard/nestjs'
import Fastify, { type FastifyInstance } from 'fastify'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { configOptionOf } from '../support/failures.js'
import { createGuardFixture } from './guard-fixture.js'

let guard: Guard
beforeAll(async () => {
  ;({ guard } = await createGuardFixture())
})

/** A bad `claims` setting, and the option path (after the adapter's own prefix) its error names. */
const BAD: readonly [string, unknown, string][] = [
  ['not an object', 'acr', 'claims'],
  ['no claim named', {}, 'claims'],
  ['an empty list', { tenant: [] }, 'claims.tenant'],
  ['a null value', { tenant: null }, 'claims.tenant'],
  ['a function', { tenant: () => true }, 'claims.tenant'],
  ['a nested object', { tenant: { id: 'acme' } }, 'claims.tenant'],
  ['includes of nothing', { amr: { includes: [] } }, 'claims.amr.includes'],
  ['includes on acr (a single value)', { acr: { includes: 'mfa' } }, 'claims.acr'],
  ['maxAge on a claim other than auth_time', { tenant: { maxAge: 60 } }, 'claims.tenant'],
  ['auth_time without maxAge', { auth_time: 300 }, 'claims.auth_time'],
  ['a negative maxAge', { auth_time: { maxAge: -1 } }, 'claims.auth_time.maxAge'],
  ['a claim named __proto__', JSON.parse('{"__proto__": "x"}') as unknown, 'claims'],
]

describe('claims requirements at registration', () => {
  const fastifyApps: FastifyInstance[] = []
  afterAll(async () => {
    await Promise.all(fastifyApps.map((app) => app.close()))
  })

  it.each(BAD)('refuses %s on every adapter', async (_name, claims, option) => {
    const bad = claims as ClaimsRequirement
    const route = { resource: 'review', action: 'read', claims: bad }
    expect(configOptionOf(() => authorize(guard, route))).toBe(`authorize().${option}`)
    expect(configOptionOf(() => authorizeList(guard, route))).toBe(`authorizeList().${option}`)
    expect(configOptionOf(() => Authorize('review', 'read', { claims: bad }))).toBe(`@Authorize().${option}`)
    expect(configOptionOf(() => AuthorizeList('review', 'read', { claims: bad }))).toBe(`@AuthorizeList().${option}`)
    const app = Fastify({ logger: false })
    fastifyApps.push(app)
    await app.register(meshguard, { guard })
    expect(configOptionOf(() => app.get('/r', { config: { meshguard: route } }, async () => ({})))).toBe(`GET /r config.meshguard.${option}`)
  })

  it('accepts every form the matcher has', () => {
    const claims: ClaimsRequirement = { acr: ['urn:example:mfa', 'urn:example:hwk'], amr: { includes: ['mfa', 'hwk'] }, tenant: 'acme', level: 3, verified: true, auth_time: { maxAge: 0 } }
    expect(() => authorize(guard, { resource: 'review', action: 'read', claims })).not.toThrow()
    expect(() => Authorize('review', 'read', { claims })).not.toThrow()
  })
})
