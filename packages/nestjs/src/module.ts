/** `MeshguardModule.forRoot` / `forRootAsync`, built with Nest's `ConfigurableModuleBuilder`. */
import { ConfigurableModuleBuilder, Module, type Provider } from '@nestjs/common'
import { APP_FILTER, APP_GUARD, APP_INTERCEPTOR } from '@nestjs/core'
import { MeshguardExceptionFilter } from './exception.js'
import { MeshguardContextInterceptor, MeshguardGuard } from './guard.js'
import { MESHGUARD_OPTIONS } from './tokens.js'
import type { MeshguardModuleExtras, MeshguardModuleOptions } from './types.js'

const { ConfigurableModuleClass } = new ConfigurableModuleBuilder<MeshguardModuleOptions>({
  moduleName: 'Meshguard',
  optionsInjectionToken: MESHGUARD_OPTIONS,
})
  .setClassMethodName('forRoot')
  .setExtras<MeshguardModuleExtras>({ useGlobalGuard: true }, (definition, extras) => {
    const global: Provider[] = [
      { provide: APP_INTERCEPTOR, useExisting: MeshguardContextInterceptor },
      { provide: APP_FILTER, useExisting: MeshguardExceptionFilter },
    ]
    if (extras.useGlobalGuard) global.push({ provide: APP_GUARD, useExisting: MeshguardGuard })
    return { ...definition, global: true, providers: [...(definition.providers ?? []), ...global] }
  })
  .build()

/**
 * Registers meshguard in a Nest application: the guard (globally by default), the interceptor that
 * runs handlers as the verified caller, and the filter that writes problem+json refusals.
 *
 * @example
 * ```ts
 * @Module({ imports: [MeshguardModule.forRoot({ guard })] })
 * // or
 * MeshguardModule.forRootAsync({ useFactory: async () => ({ guard: (await createMeshguard(config)).guard }) })
 * ```
 */
@Module({
  providers: [MeshguardGuard, MeshguardContextInterceptor, MeshguardExceptionFilter],
  exports: [MeshguardGuard, MESHGUARD_OPTIONS],
})
export class MeshguardModule extends ConfigurableModuleClass {}
