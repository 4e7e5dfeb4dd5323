/**
 * `@meshguard/express`: Express middleware over meshguard's guard pipeline.
 *
 * @packageDocumentation
 */
import './request.js'

export { authorize, authorizeList, authenticate, refuseUnguardedRoutes } from './middleware.js'
export { publicRoute } from './routes.js'
export type { ExpressRouteAuthorization, ExpressAuthenticateOptions } from './middleware.js'
export { viewOf } from './request-view.js'
