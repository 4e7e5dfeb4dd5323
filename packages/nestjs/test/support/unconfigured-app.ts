/** A Nest app whose one controller has no meshguard settings, so the module's `unconfigured` options guard it. */
import 'reflect-metadata'
import type { Guard } from '@meshguard/core'
import { Controller, Get, Module } from '@nestjs/common'
import { NestFactory } from '@nestjs/core'
import { MeshguardModule, type MeshguardModuleOptions } from '../../src/index.js'

@Controller('me')
class MeController {
  @Get()
  me(): Record<string, unknown> {
    return { ok: true }
  }
}

/** Starts the app on 127.0.0.1; resolves to its URL and how to stop it. */
export async function startUnconfiguredNestApp(guard: Guard, unconfigured: MeshguardModuleOptions['unconfigured']): Promise<{ url: string; close: () => Promise<void> }> {
  @Module({ imports: [MeshguardModule.forRoot({ guard, unconfigured })], controllers: [MeController] })
  class AppModule {}
  // eslint-disable-next-line @typescript-eslint/no-unsafe-class-instance-assignment -- Nest types its options as a class and documents passing a plain object
  const app = await NestFactory.create(AppModule, { logger: false })
  await app.listen(0, '127.0.0.1')
  return { url: (await app.getUrl()).replace('[::1]', '127.0.0.1'), close: () => app.close() }
}
