/**
 * `@meshguard/nestjs/testing`: the route table of a Nest application, read from its controllers'
 * route and meshguard metadata, for a service's own test suite.
 *
 * @example
 * ```ts
 * import { assertRoutesGuarded } from '@meshguard/nestjs/testing'
 * it('guards every route', () => assertRoutesGuarded(app))
 * ```
 *
 * @packageDocumentation
 */
import type { ListRouteAuthorization } from '@meshguard/core'
import { assertRoutesGuarded as assertGuarded, requirementOf, type RouteRequirement } from '@meshguard/core/adapter'
import { RequestMethod, type INestApplicationContext, type Type } from '@nestjs/common'
import { METHOD_METADATA, PATH_METADATA } from '@nestjs/common/constants.js'
import { ModulesContainer } from '@nestjs/core'
import { AUTHORIZE_LIST_METADATA, AUTHORIZE_METADATA, MESHGUARD_OPTIONS, PUBLIC_METADATA } from './tokens.js'
import type { MeshguardModuleOptions, NestRouteAuthorization } from './types.js'

export { formatRouteTable } from '@meshguard/core/adapter'
export type { RouteRequirement, RouteGuardKind } from '@meshguard/core/adapter'

const metadata = <T>(key: string, target: object): T | undefined => Reflect.getMetadata(key, target) as T | undefined

const joinPath = (...parts: Array<string | undefined>): string =>
  `/${parts
    .filter((p): p is string => typeof p === 'string' && p !== '' && p !== '/')
    .map((p) => p.replace(/^\/+|\/+$/g, ''))
    .join('/')}`

/** How a handler without settings is treated, from the module options (`authenticated` when unknown). */
function unconfiguredOf(app: INestApplicationContext): RouteRequirement['guard'] {
  let options: MeshguardModuleOptions | undefined
  try {
    options = app.get<MeshguardModuleOptions>(MESHGUARD_OPTIONS, { strict: false })
  } catch {
    options = undefined
  }
  return options?.unconfigured === 'public' ? 'public' : options?.unconfigured === 'refuse' ? 'refused' : 'authenticated'
}

/**
 * Every route of the application's controllers with its resource, action and actor requirement
 * (the handler's own decorators win over its controller's, as the guard reads them).
 */
export function listRoutes(app: INestApplicationContext): RouteRequirement[] {
  const unconfigured = unconfiguredOf(app)
  const routes: RouteRequirement[] = []
  for (const module of app.get(ModulesContainer).values()) {
    for (const wrapper of module.controllers.values()) {
      const controller = wrapper.metatype as Type<unknown> | undefined
      if (typeof controller !== 'function') continue
      const base = metadata<string | string[]>(PATH_METADATA, controller)
      const prototype = controller.prototype as Record<string, unknown>
      for (const name of Object.getOwnPropertyNames(prototype)) {
        const handler = prototype[name]
        if (name === 'constructor' || typeof handler !== 'function') continue
        const requestMethod = metadata<RequestMethod>(METHOD_METADATA, handler)
        if (requestMethod === undefined) continue
        const method = RequestMethod[requestMethod] ?? String(requestMethod)
        const path = joinPath(...[base].flat(), ...[metadata<string | string[]>(PATH_METADATA, handler)].flat())
        const isPublic = metadata<boolean>(PUBLIC_METADATA, handler) ?? metadata<boolean>(PUBLIC_METADATA, controller)
        const own = metadata<NestRouteAuthorization>(AUTHORIZE_METADATA, handler)
        const ownList = metadata<ListRouteAuthorization>(AUTHORIZE_LIST_METADATA, handler)
        const list = ownList ?? (own === undefined ? metadata<ListRouteAuthorization>(AUTHORIZE_LIST_METADATA, controller) : undefined)
        const route = own ?? metadata<NestRouteAuthorization>(AUTHORIZE_METADATA, controller)
        if (isPublic === true) routes.push({ method, path, guard: 'public' })
        else if (list !== undefined) routes.push(requirementOf(method, path, { list }))
        else if (route !== undefined) routes.push(requirementOf(method, path, route))
        else routes.push({ method, path, guard: unconfigured })
      }
    }
  }
  return routes
}

/**
 * Fails when a route has no policy check and is not `@Public()` (routes refused by
 * `unconfigured: 'refuse'` pass).
 *
 * @throws ConfigError naming every such route, as a table
 */
export function assertRoutesGuarded(app: INestApplicationContext): void {
  assertGuarded(listRoutes(app))
}
