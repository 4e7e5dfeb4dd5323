/**
 * The Fastify plugin: decorates the request, reads each route's `config.meshguard`, and runs the guard
 * in one hook. Refusals are answered with problem+json; the handler runs as the verified caller.
 */
import { ConfigError, type AuthenticateOptions, type Guard } from '@meshguard/core'
import {
  unconfiguredOptionsOf,
  decideListRequest,
  decideRequest,
  whenDecided,
  UNGUARDED_ROUTE,
  type GuardFailure,
  type GuardOutcome,
} from '@meshguard/core/adapter'
import type { FastifyPluginCallback, FastifyReply, FastifyRequest, HookHandlerDoneFunction } from 'fastify'
import fp from 'fastify-plugin'
import { viewOf } from './request-view.js'
import { recordRoute } from './routes.js'
import type { FastifyListRoute, FastifyPublicRoute, FastifyRouteAuthorization, MeshguardFastifyOptions, MeshguardHook } from './types.js'

const HOOKS: readonly MeshguardHook[] = ['onRequest', 'preValidation', 'preHandler']

function sendFailure(reply: FastifyReply, failure: GuardFailure): void {
  void reply.code(failure.status).headers(failure.headers).send(JSON.stringify(failure.problem))
}

type RouteSettings = FastifyRouteAuthorization | FastifyListRoute | FastifyPublicRoute

function isPublic(route: RouteSettings): route is FastifyPublicRoute {
  return (route as { public?: unknown }).public === true // a service's setting: only a real true opens the route
}

function isList(route: RouteSettings): route is FastifyListRoute {
  return (route as Partial<FastifyListRoute>).list !== undefined
}

/** Checks the plugin's options; returns the compiled options of routes without settings. */
function checkOptions(options: MeshguardFastifyOptions): AuthenticateOptions {
  const guard: Partial<Guard> | undefined = (options as typeof options | undefined)?.guard
  if (typeof guard?.authorizeNow !== 'function' || typeof guard.authenticateNow !== 'function') {
    throw new ConfigError('guard', 'must be a guard from createGuard()')
  }
  if (options.hook !== undefined && !HOOKS.includes(options.hook)) {
    throw new ConfigError('hook', `must be one of ${HOOKS.join(', ')}`)
  }
  return unconfiguredOptionsOf(options.unconfigured, 'unconfigured')
}

const meshguardPlugin: FastifyPluginCallback<MeshguardFastifyOptions> = (fastify, options, done) => {
  let authenticateOptions: AuthenticateOptions
  try {
    authenticateOptions = checkOptions(options)
  } catch (err) {
    done(err as Error)
    return
  }
  const { guard } = options
  const unconfigured = options.unconfigured ?? {}
  // Routes without settings: authenticated (default), public, or refused (403 route_unguarded).
  const unconfiguredRoute = unconfigured === 'refuse' ? UNGUARDED_ROUTE : undefined

  /** Continues as the verified caller, or answers the refusal. */
  const settle = (result: GuardOutcome, request: FastifyRequest, reply: FastifyReply, next: HookHandlerDoneFunction): void => {
    if (!result.ok) return sendFailure(reply, result)
    request.meshguard = result
    // The handler is called synchronously from `next`, so it runs inside the caller context.
    guard.run(result.caller, next)
  }

  // Each route's settings are checked once, as it is registered: a bad one stops start-up.
  fastify.addHook('onRoute', (routeOptions) => {
    recordRoute(fastify, routeOptions, unconfigured)
    const route = routeOptions.config?.meshguard
    if (route !== undefined && !isPublic(route)) {
      const methods = Array.isArray(routeOptions.method) ? routeOptions.method.join(',') : routeOptions.method
      const at = `${methods} ${routeOptions.url} config.meshguard`
      if (isList(route)) {
        // Every list setting lives under `list`; a setting beside it would be ignored without a word.
        const extra = Object.keys(route).find((key) => key !== 'list')
        if (extra !== undefined) throw new ConfigError(`${at}.${extra}`, 'belongs inside list: { resource, action, actor?, emptyForRoles? }')
      }
      const meshguard = isList(route) ? { list: guard.compileListRoute(route.list, `${at}.list`) } : guard.compileRoute(route, at)
      routeOptions.config = { ...routeOptions.config, meshguard }
      recordRoute(fastify, routeOptions, unconfigured)
    }
  })

  fastify.decorateRequest('meshguard', null)
  fastify.addHook(options.hook ?? 'preHandler', function meshguardHook(request: FastifyRequest, reply: FastifyReply, next: HookHandlerDoneFunction) {
    // `routeOptions` builds a fresh object on every read: read it once per request.
    const { config, url } = request.routeOptions
    const route = config.meshguard
    if (route === undefined && unconfigured === 'public') return next()
    if (route !== undefined && isPublic(route)) return next()
    if (route !== undefined && isList(route)) {
      void whenDecided(guard, decideListRequest(guard, viewOf, request, url, route.list), settle, request, reply, next)
      return
    }
    void whenDecided(guard, decideRequest(guard, viewOf, request, url, route ?? unconfiguredRoute, authenticateOptions), settle, request, reply, next)
  })
  done()
}

/**
 * The meshguard Fastify plugin (Fastify 5). Register once; protect routes through `config.meshguard`.
 *
 * @example
 * ```ts
 * await app.register(meshguard, { guard })
 * app.get('/reviews/:id', { config: { meshguard: { resource: 'review', action: 'read', actor: 'required' } } }, handler)
 * app.get('/reviews', { config: { meshguard: { list: { resource: 'review', action: 'read' } } } }, (req) => req.meshguard!.plan!.keep(rows))
 * app.get('/health', { config: { meshguard: { public: true } } }, () => 'ok')
 * ```
 */
export const meshguard = fp(meshguardPlugin, { name: '@meshguard/fastify', fastify: '5.x' })
