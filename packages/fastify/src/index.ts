/**
 * `@meshguard/fastify`: the Fastify plugin over meshguard's guard pipeline.
 *
 * @packageDocumentation
 */
import { meshguard } from './plugin.js'

export { meshguard, meshguard as meshguardFastify }
export { viewOf } from './request-view.js'
export type { FastifyRouteAuthorization, FastifyListRoute, FastifyPublicRoute, MeshguardHook, MeshguardFastifyOptions } from './types.js'
// Fastify plugins are also the default export by convention (`import meshguard from '@meshguard/fastify'`).
export default meshguard
