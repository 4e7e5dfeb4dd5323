/**
 * `@meshguard/nestjs`: module, guard and decorators over meshguard's guard pipeline. Works on Nest's
 * Express and Fastify platforms.
 *
 * @packageDocumentation
 */
export { MeshguardModule } from './module.js'
export { MeshguardGuard, MeshguardContextInterceptor } from './guard.js'
export { MeshguardExceptionFilter, MeshguardProblemException } from './exception.js'
export { Authorize, Public, Caller } from './decorators.js'
export type { AuthorizeOptions, CallerPart } from './decorators.js'
export { MESHGUARD_OPTIONS, AUTHORIZE_METADATA, PUBLIC_METADATA } from './tokens.js'
export { viewOf } from './request-view.js'
export type { NestHttpRequest, NestRouteAuthorization, MeshguardModuleOptions, MeshguardModuleExtras } from './types.js'
