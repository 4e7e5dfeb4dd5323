/**
 * `@meshguard/nestjs`: module, guard and decorators over meshguard's guard pipeline. Works on Nest's
 * Express and Fastify platforms.
 *
 * @packageDocumentation
 */
export { MeshguardModule } from './module.js'
export { MeshguardGuard, MeshguardContextInterceptor } from './guard.js'
export { MeshguardExceptionFilter, MeshguardProblemException } from './exception.js'
export { Authorize, AuthorizeList, Public, Caller } from './decorators.js'
export type { AuthorizeOptions, AuthorizeListOptions, CallerPart } from './decorators.js'
export { MESHGUARD_OPTIONS, AUTHORIZE_METADATA, AUTHORIZE_LIST_METADATA, PUBLIC_METADATA } from './tokens.js'
export { viewOf } from './request-view.js'
export type { NestHttpRequest, NestRouteAuthorization, MeshguardModuleOptions, MeshguardModuleExtras } from './types.js'
