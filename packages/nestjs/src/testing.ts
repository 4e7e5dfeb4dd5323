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

const metadata = (key: string, target: object): unknown => Reflect.getMetadata(key, target)

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
      const base = metadata(PATH_METADATA, controller) as string | string[] | undefined
      const prototype = controller.prototype as Record<string, unknown>
      for (const name of Object.getOwnPropertyNames(prototype)) {
        const handler = prototype[name]
        if (name === 'constructor' || typeof handler !== 'function') continue
        const requestMethod = metadata(METHOD_METADATA, handler) as RequestMethod | undefined
        if (requestMethod === undefined) continue
        const method = (RequestMethod[requestMethod] as string | undefined) ?? String(requestMethod) // an unknown number has no name
        const path = joinPath(...[base].flat(), ...[(metadata(PATH_METADATA, handler) as string | string[] | undefined)].flat())
        const isPublic = (metadata(PUBLIC_METADATA, handler) as boolean | undefined) ?? (metadata(PUBLIC_METADATA, controller) as boolean | undefined)
        const own = metadata(AUTHORIZE_METADATA, handler) as NestRouteAuthorization | undefined
        const ownList = metadata(AUTHORIZE_LIST_METADATA, handler) as ListRouteAuthorization | undefined
        const list = ownList ?? (own === undefined ? (metadata(AUTHORIZE_LIST_METADATA, controller) as ListRouteAuthorization | undefined) : undefined)
        const route = own ?? (metadata(AUTHORIZE_METADATA, controller) as NestRouteAuthorization | undefined)
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
