import { ConfigError, callerContext, type GuardGrant } from '@meshguard/core'
import Fastify, { type FastifyInstance, type FastifyRequest } from 'fastify'
import { request } from 'undici'
import { afterAll, beforeAll, describe, expect, expectTypeOf, it } from 'vitest'
import { createGuardFixture, type GuardFixture } from '../../../test/adapters/guard-fixture.js'
import meshguardDefault, { meshguard, meshguardFastify, type FastifyRouteAuthorization, type MeshguardFastifyOptions } from '../src/index.js'

let fixture: GuardFixture
const apps: FastifyInstance[] = []

const answer = async (req: FastifyRequest) => ({
  grant: req.meshguard === null ? null : req.meshguard.decision?.action ?? 'authenticated',
  inContext: req.meshguard !== null && callerContext.current() === req.meshguard.caller,
})

/** An app with one body-derived route, one unconfigured route and one public route. */
async function start(options: Omit<MeshguardFastifyOptions, 'guard'>): Promise<string> {
  const app = Fastify({ logger: false })
  apps.push(app)
  await app.register(meshguard, { guard: fixture.guard, ...options })
  const route: FastifyRouteAuthorization = {
    resource: (req) => ({ kind: 'review', id: 'r1', attr: { department: String((req.body as { department?: string } | undefined)?.department) } }),
    action: 'read',
    actor: 'required',
  }
  app.post('/lookup', { config: { meshguard: route } }, answer)
  app.get('/me', answer)
  app.get('/health', { config: { meshguard: { public: true } } }, answer)
  return app.listen({ port: 0, host: '127.0.0.1' })
}

beforeAll(async () => {
  fixture = await createGuardFixture()
})

afterAll(async () => {
  await Promise.all(apps.map((app) => app.close()))
  await fixture.audit.close()
})

async function send(url: string, method: 'GET' | 'POST', path: string, headers: Record<string, string>, body?: string) {
  const res = await request(`${url}${path}`, { method, headers: body === undefined ? headers : { ...headers, 'content-type': 'application/json' }, body: body ?? null })
  return { status: res.statusCode, body: (await res.body.json()) as Record<string, unknown> }
}

describe('@meshguard/fastify plugin', () => {
  it('runs in preHandler by default, so body-derived resources are decided on the parsed body', async () => {
    const url = await start({})
    const alice = await fixture.headers('alice')
    expect(await send(url, 'POST', '/lookup', alice, JSON.stringify({ department: 'engineering' }))).toEqual({ status: 200, body: { grant: 'read', inContext: true } })
    expect((await send(url, 'POST', '/lookup', alice, JSON.stringify({ department: 'people' }))).status).toBe(403)
  })

  it('refuses before the body is parsed when told to run in onRequest', async () => {
    const early = await start({ hook: 'onRequest' })
    const late = await start({})
    // No credentials and a body that is not JSON: onRequest refuses first; preHandler never gets there.
    expect((await send(early, 'POST', '/lookup', {}, '{not json')).status).toBe(401)
    expect((await send(late, 'POST', '/lookup', {}, '{not json')).status).toBe(400)
  })

  it('requires a verified caller on unconfigured routes unless told they are public', async () => {
    const strict = await start({})
    expect((await send(strict, 'GET', '/me', {})).body['reason']).toBe('token_missing')
    expect(await send(strict, 'GET', '/me', await fixture.headers())).toEqual({ status: 200, body: { grant: 'authenticated', inContext: true } })
    const lenient = await start({ unconfigured: 'public' })
    expect(await send(lenient, 'GET', '/me', {})).toEqual({ status: 200, body: { grant: null, inContext: false } })
  })

  it('leaves request.meshguard null on public routes', async () => {
    const url = await start({})
    expect(await send(url, 'GET', '/health', {})).toEqual({ status: 200, body: { grant: null, inContext: false } })
  })

  it('registers under its name and rejects bad options at registration', async () => {
    const app = Fastify({ logger: false })
    apps.push(app)
    await app.register(meshguard, { guard: fixture.guard })
    await app.ready()
    expect(app.hasPlugin('@meshguard/fastify')).toBe(true)
    const bad = Fastify({ logger: false })
    apps.push(bad)
    await expect(bad.register(meshguard, { guard: fixture.guard, hook: 'onSend' as never }).ready()).rejects.toSatisfy((err) => err instanceof ConfigError && err.option === 'hook')
    const noGuard = Fastify({ logger: false })
    apps.push(noGuard)
    await expect(noGuard.register(meshguard, {} as never).ready()).rejects.toThrow(/^guard:/)
  })

  it('checks each route\'s settings when it is registered, so a bad one stops start-up', async () => {
    const app = Fastify({ logger: false })
    apps.push(app)
    await app.register(meshguard, { guard: fixture.guard })
    const register = () => app.get('/x/:id', { config: { meshguard: { resource: 'review', action: 'read', actor: 'sometimes' as never } } }, () => 'x')
    let error: unknown
    try {
      register()
      await app.ready()
    } catch (err) {
      error = err
    }
    expect(error).toBeInstanceOf(ConfigError)
    expect((error as ConfigError).option).toBe('GET /x/:id config.meshguard.actor')
    const typo = Fastify({ logger: false })
    apps.push(typo)
    await expect(typo.register(meshguard, { guard: fixture.guard, unconfigured: { actor: 'always' as never } }).ready()).rejects.toSatisfy(
      (err) => err instanceof ConfigError && err.option === 'unconfigured.actor',
    )
  })

  it('checks list routes when registered: every setting goes inside list', async () => {
    const optionOf = async (meshguardConfig: unknown): Promise<string | undefined> => {
      const app = Fastify({ logger: false })
      apps.push(app)
      await app.register(meshguard, { guard: fixture.guard })
      try {
        app.get('/reviews', { config: { meshguard: meshguardConfig as never } }, () => 'x')
        await app.ready()
      } catch (err) {
        return err instanceof ConfigError ? err.option : 'not a ConfigError'
      }
      return undefined
    }
    expect(await optionOf({ list: { resource: 'review', action: 'read' }, actor: 'required' })).toBe('GET /reviews config.meshguard.actor')
    expect(await optionOf({ list: { resource: 'review', action: 'read', emptyForRoles: 'x' } })).toBe('GET /reviews config.meshguard.list.emptyForRoles')
    expect(await optionOf({ list: { resource: 'review', action: 'read' } })).toBeUndefined()
  })

  it('is the default export and a named export', () => {
    expect(meshguardDefault).toBe(meshguard)
    expect(meshguardFastify).toBe(meshguard)
  })

  it('types the request decoration and the route config', () => {
    expectTypeOf<FastifyRequest['meshguard']>().toEqualTypeOf<GuardGrant | null>()
    expectTypeOf<MeshguardFastifyOptions['hook']>().toEqualTypeOf<'onRequest' | 'preValidation' | 'preHandler' | undefined>()
    // @ts-expect-error the action must be a string or a function of the request
    const bad: FastifyRouteAuthorization = { resource: 'review', action: 42 }
    expectTypeOf(bad).toEqualTypeOf<FastifyRouteAuthorization>()
  })
})
