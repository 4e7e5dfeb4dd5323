/**
 * The cross-adapter contract app on NestJS (test/adapters/contract.ts), on the Express or the
 * Fastify platform. Explicit tokens everywhere: vitest's esbuild emits no decorator metadata.
 */
import 'reflect-metadata'
import type { Guard, GuardGrant } from '@meshguard/core'
import { Authorize, AuthorizeList, Caller, MeshguardModule, Public } from '@meshguard/nestjs'
import { listRoutes } from '@meshguard/nestjs/testing'
import { Controller, Get, HttpCode, Module, Post, Req, type INestApplication } from '@nestjs/common'
import { NestFactory } from '@nestjs/core'
import { ExpressAdapter } from '@nestjs/platform-express'
import { FastifyAdapter } from '@nestjs/platform-fastify'
import { batchBody, CLAIMED_ROUTE_CLAIMS, handlerBody, listBody, loadReview, reviewFromBody, STEP_UP_CLAIMS } from '../../../../test/adapters/contract.js'
import type { RunningApp } from '../../../../test/adapters/drivers.js'

interface GrantedRequest {
  meshguard?: GuardGrant | null
}

@Controller()
class ReviewsController {
  @Public()
  @Get('health')
  health(@Req() req: GrantedRequest): Record<string, unknown> {
    return handlerBody(req.meshguard)
  }

  @Get('reviews')
  @AuthorizeList('review', 'read', { actor: 'required' })
  list(@Req() req: GrantedRequest, @Caller('plan') plan: unknown): Record<string, unknown> {
    if (plan !== req.meshguard?.plan) throw new Error("@Caller('plan') did not inject the plan")
    return listBody(req.meshguard)
  }

  @Get('all-reviews')
  @AuthorizeList('review', 'read', { actor: 'required', emptyForRoles: ['employee-service'] })
  listOrEmpty(@Req() req: GrantedRequest): Record<string, unknown> {
    return listBody(req.meshguard)
  }

  @Get('reviews/:id')
  @Authorize((req) => loadReview(req.params), 'read', { actor: 'required' })
  read(@Req() req: GrantedRequest): Record<string, unknown> {
    return handlerBody(req.meshguard)
  }

  @Post('lookup')
  @HttpCode(200)
  @Authorize((req) => reviewFromBody(req.body), 'read', { actor: 'required' })
  lookup(@Req() req: GrantedRequest): Record<string, unknown> {
    return handlerBody(req.meshguard)
  }

  @Get('me')
  me(@Req() req: GrantedRequest, @Caller() principal: unknown): Record<string, unknown> {
    // @Caller() injects the verified principal; it must be the one on the request.
    if (principal !== req.meshguard?.caller.principal) throw new Error('@Caller() did not inject the principal')
    return handlerBody(req.meshguard)
  }

  @Get('scoped/:id')
  @Authorize((req) => loadReview(req.params), 'read', { actor: 'required', scope: 'review.read' })
  scoped(@Req() req: GrantedRequest): Record<string, unknown> {
    return handlerBody(req.meshguard)
  }

  @Get('claimed/:id')
  @Authorize((req) => loadReview(req.params), 'read', { actor: 'required', claims: CLAIMED_ROUTE_CLAIMS })
  claimed(@Req() req: GrantedRequest): Record<string, unknown> {
    return handlerBody(req.meshguard)
  }

  @Get('step-up/:id')
  @Authorize((req) => loadReview(req.params), 'read', { actor: 'required', claims: STEP_UP_CLAIMS })
  stepUp(@Req() req: GrantedRequest): Record<string, unknown> {
    return handlerBody(req.meshguard)
  }

  @Get('internal/:id')
  @Authorize('review', 'read', { actor: 'forbidden' })
  internal(@Req() req: GrantedRequest): Record<string, unknown> {
    return handlerBody(req.meshguard)
  }

  @Get('crash/:id')
  @Authorize('crash', 'read')
  crash(@Req() req: GrantedRequest): Record<string, unknown> {
    return handlerBody(req.meshguard)
  }

  @Get('batch/:id')
  @Authorize((req) => loadReview(req.params), 'read', { actor: 'required' })
  batch(@Req() req: GrantedRequest, @Caller('grant') grant: unknown): Promise<Record<string, unknown>> {
    if (grant !== req.meshguard) throw new Error("@Caller('grant') did not inject the grant")
    return batchBody(req.meshguard)
  }

  @Get('offline/:id')
  @Authorize('offline', 'read')
  offline(@Req() req: GrantedRequest): Record<string, unknown> {
    return handlerBody(req.meshguard)
  }
}

/** The Nest platforms the contract runs on. */
export type NestPlatform = 'express' | 'fastify'

/** Starts the Nest contract app on 127.0.0.1; `forRoot` on Express, `forRootAsync` on Fastify (both paths covered). */
export async function startNestApp(guard: Guard, platform: NestPlatform): Promise<RunningApp> {
  const meshguard =
    platform === 'express'
      ? MeshguardModule.forRoot({ guard })
      : MeshguardModule.forRootAsync({ useFactory: async () => ({ guard }) })

  @Module({ imports: [meshguard], controllers: [ReviewsController] })
  class AppModule {}

  const adapter = platform === 'express' ? new ExpressAdapter() : new FastifyAdapter()
  // eslint-disable-next-line @typescript-eslint/no-unsafe-class-instance-assignment -- Nest types its options as a class (NestApplicationContextOptions) but takes and reads a plain object
  const app: INestApplication = await NestFactory.create(AppModule, adapter, { logger: false })
  await app.listen(0, '127.0.0.1')
  const url = (await app.getUrl()).replace('[::1]', '127.0.0.1').replace('localhost', '127.0.0.1')
  return { url, close: () => app.close(), routes: () => listRoutes(app) }
}
