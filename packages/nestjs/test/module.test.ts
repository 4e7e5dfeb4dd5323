import 'reflect-metadata'
import { ConfigError, type Principal, type VerifiedCaller } from '@meshguard/core'
import type { ClaimsRequirement } from '@meshguard/core/edge'
import { type GuardDecision } from '@meshguard/core/adapter'
import { Controller, Get, Module, Req, UseGuards, type INestApplication } from '@nestjs/common'
import { NestFactory } from '@nestjs/core'
import { ExpressAdapter } from '@nestjs/platform-express'
import { FastifyAdapter } from '@nestjs/platform-fastify'
import { request } from 'undici'
import { afterAll, beforeAll, describe, expect, expectTypeOf, it } from 'vitest'
import { createGuardFixture, type GuardFixture } from '../../../test/adapters/guard-fixture.js'
import { Authorize, AuthorizeList, Caller, MeshguardGuard, MeshguardModule, type MeshguardModuleOptions, type NestHttpRequest } from '../src/index.js'

@Controller('guarded')
@UseGuards(MeshguardGuard)
@Authorize('review', 'read', { actor: 'required' })
class GuardedController {
  @Get(':id')
  read(@Caller('caller') caller: VerifiedCaller, @Caller('decision') decision: GuardDecision, @Caller() principal: Principal): Record<string, unknown> {
    return { actor: caller.actor?.id, action: decision.action, policy: decision.policy, principal: principal.id }
  }
}

@Controller('open')
class OpenController {
  @Get()
  open(@Caller() principal: Principal | undefined): Record<string, unknown> {
    return { principal: principal ?? null }
  }
}

@Controller('grant')
@UseGuards(MeshguardGuard)
@Authorize('review', 'read')
class GrantController {
  @Get(':id')
  read(@Req() req: NestHttpRequest): Record<string, unknown> {
    return { own: Object.hasOwn(req, 'meshguard'), workload: req.meshguard?.caller.principal.id ?? null, action: req.meshguard?.decision?.action ?? null }
  }
}

/** A list controller whose one handler checks a single review instead: the handler's decorator wins. */
@Controller('listed')
@AuthorizeList('review', 'read', { actor: 'required' })
class ListedController {
  @Get()
  list(@Req() req: NestHttpRequest): Record<string, unknown> {
    return { plan: req.meshguard?.plan?.kind ?? null, decision: req.meshguard?.decision?.action ?? null }
  }

  @Get(':id')
  @Authorize('review', 'read', { actor: 'required' })
  read(@Req() req: NestHttpRequest): Record<string, unknown> {
    return { plan: req.meshguard?.plan?.kind ?? null, decision: req.meshguard?.decision?.action ?? null }
  }
}

let fixture: GuardFixture
const apps: INestApplication[] = []

async function start(options: Omit<MeshguardModuleOptions, 'guard'>, useGlobalGuard: boolean): Promise<string> {
  @Module({ imports: [MeshguardModule.forRoot({ guard: fixture.guard, ...options, useGlobalGuard })], controllers: [GuardedController, OpenController] })
  class AppModule {}
  // eslint-disable-next-line @typescript-eslint/no-unsafe-class-instance-assignment -- Nest types its options as a class (NestApplicationContextOptions) but takes and reads a plain object
  const app = await NestFactory.create(AppModule, { logger: false })
  apps.push(app)
  await app.listen(0, '127.0.0.1')
  return (await app.getUrl()).replace('[::1]', '127.0.0.1')
}

beforeAll(async () => {
  fixture = await createGuardFixture()
})

afterAll(async () => {
  await Promise.all(apps.map((app) => app.close()))
  await fixture.audit.close()
})

const get = async (url: string, headers: Record<string, string> = {}) => {
  const res = await request(url, { headers })
  return { status: res.statusCode, type: res.headers['content-type'], body: (await res.body.json()) as Record<string, unknown> }
}

describe('@meshguard/nestjs per-controller guard', () => {
  it('guards only the controllers that use it when the global guard is off', async () => {
    const url = await start({}, false)
    expect(await get(`${url}/open`)).toMatchObject({ status: 200, body: { principal: null } })
    const refused = await get(`${url}/guarded/r-eng`)
    expect(refused).toMatchObject({ status: 401, type: 'application/problem+json', body: { reason: 'token_missing' } })
  })

  it('reads @Authorize from the controller and injects caller, decision and principal', async () => {
    const url = await start({}, false)
    const res = await get(`${url}/guarded/r-eng`, await fixture.headers('hana'))
    expect(res).toEqual({
      status: 200,
      type: 'application/json; charset=utf-8',
      body: { actor: 'hana', action: 'read', policy: 'resource.review.vdefault', principal: 'spiffe://example.org/ns/default/sa/employee-service' },
    })
  })
})

describe('@meshguard/nestjs list routes', () => {
  it("takes a controller's @AuthorizeList for its handlers, unless a handler has its own @Authorize", async () => {
    @Module({ imports: [MeshguardModule.forRoot({ guard: fixture.guard })], controllers: [ListedController] })
    class ListedModule {}
    // eslint-disable-next-line @typescript-eslint/no-unsafe-class-instance-assignment -- Nest types its options as a class (NestApplicationContextOptions) but takes and reads a plain object
    const app = await NestFactory.create(ListedModule, { logger: false })
    apps.push(app)
    await app.listen(0, '127.0.0.1')
    const url = (await app.getUrl()).replace('[::1]', '127.0.0.1')
    expect((await get(`${url}/listed`, await fixture.headers('hana'))).body).toEqual({ plan: 'KIND_ALWAYS_ALLOWED', decision: null })
    expect((await get(`${url}/listed/r-eng`, await fixture.headers('hana'))).body).toEqual({ plan: null, decision: 'read' })
    expect((await get(`${url}/listed`, await fixture.headers('ed'))).status).toBe(403)
  })
})

describe('@meshguard/nestjs request.meshguard', () => {
  const startOn = async (platform: 'express' | 'fastify'): Promise<string> => {
    @Module({ imports: [MeshguardModule.forRoot({ guard: fixture.guard })], controllers: [GrantController] })
    class GrantModule {}
    // eslint-disable-next-line @typescript-eslint/no-unsafe-class-instance-assignment -- Nest types its options as a class (NestApplicationContextOptions) but takes and reads a plain object
    const app = await NestFactory.create(GrantModule, platform === 'express' ? new ExpressAdapter() : new FastifyAdapter(), { logger: false })
    apps.push(app)
    await app.listen(0, '127.0.0.1')
    return (await app.getUrl()).replace('[::1]', '127.0.0.1')
  }

  it('is readable on both platforms, and not a property of the Express request (a hidden class per request)', async () => {
    for (const [platform, own] of [['express', false], ['fastify', true]] as const) {
      const res = await get(`${await startOn(platform)}/grant/r-eng`, await fixture.headers('hana'))
      expect({ platform, ...res.body }).toEqual({ platform, own, workload: 'spiffe://example.org/ns/default/sa/employee-service', action: 'read' })
    }
  })
})

describe('@meshguard/nestjs global guard', () => {
  it('requires a verified caller on handlers without @Authorize or @Public', async () => {
    const url = await start({}, true)
    expect((await get(`${url}/open`)).body['reason']).toBe('token_missing')
    expect((await get(`${url}/open`, await fixture.headers())).body['principal']).toMatchObject({ id: 'spiffe://example.org/ns/default/sa/employee-service', roles: ['employee-service'] })
  })

  it('lets unconfigured handlers through when told they are public', async () => {
    const url = await start({ unconfigured: 'public' }, true)
    expect(await get(`${url}/open`)).toMatchObject({ status: 200, body: { principal: null } })
    expect((await get(`${url}/guarded/r-eng`)).status).toBe(401)
  })
})

describe('@meshguard/nestjs types', () => {
  it('types the decorators and options', () => {
    expectTypeOf(Authorize).returns.toEqualTypeOf<MethodDecorator & ClassDecorator>()
    expectTypeOf<MeshguardModuleOptions['unconfigured']>().toEqualTypeOf<{ actor?: 'required' | 'forbidden' | 'optional' | undefined; scope?: string | readonly string[] | undefined; claims?: ClaimsRequirement | undefined } | 'public' | 'refuse' | undefined>()
    // An unknown actor requirement is refused by the compiler and, where types are not checked, when declared.
    // @ts-expect-error an unknown actor requirement is rejected
    expect(() => Authorize('review', 'read', { actor: 'maybe' })).toThrow(ConfigError)
    // @ts-expect-error resolvers get the request and must return a resource
    Authorize((req) => req.params, 'read')
    expectTypeOf(AuthorizeList).returns.toEqualTypeOf<MethodDecorator & ClassDecorator>()
    expect(() => AuthorizeList('review', 'read', { emptyForRoles: [''] })).toThrow(/@AuthorizeList\(\)\.emptyForRoles/)
  })
})
