/**
 * A small Nest app for the route-coverage tests (test/adapters/route-coverage.test.ts): a policy
 * route, a public one, and one with no settings. Explicit tokens: vitest emits no decorator metadata.
 */
import 'reflect-metadata'
import type { Guard } from '@meshguard/core'
import { Authorize, MeshguardModule, Public, type MeshguardModuleOptions } from '@meshguard/nestjs'
import { Controller, Get, type INestApplication } from '@nestjs/common'
import { NestFactory } from '@nestjs/core'
import { ExpressAdapter } from '@nestjs/platform-express'
import { Module } from '@nestjs/common'
import type { RunningApp } from '../../../../test/adapters/drivers.js'

@Controller()
class CoverageController {
  @Public()
  @Get('health')
  health(): Record<string, unknown> {
    return { ok: true }
  }

  @Get('reviews/:id')
  @Authorize('review', 'read', { actor: 'required' })
  read(): Record<string, unknown> {
    return { ok: true }
  }

  @Get('forgotten')
  forgotten(): Record<string, unknown> {
    return { ok: true }
  }
}

/** Starts the coverage app; `unconfigured` as the module option. */
export async function startNestCoverageApp(guard: Guard, unconfigured: MeshguardModuleOptions['unconfigured']): Promise<RunningApp & { app: INestApplication }> {
  @Module({ imports: [MeshguardModule.forRoot({ guard, unconfigured })], controllers: [CoverageController] })
  class AppModule {}
  // eslint-disable-next-line @typescript-eslint/no-unsafe-class-instance-assignment -- Nest types its options as a class (NestApplicationContextOptions) but takes and reads a plain object
  const app: INestApplication = await NestFactory.create(AppModule, new ExpressAdapter(), { logger: false })
  await app.listen(0, '127.0.0.1')
  const url = (await app.getUrl()).replace('[::1]', '127.0.0.1').replace('localhost', '127.0.0.1')
  return { url, close: () => app.close(), app }
}
