/** Translates a Fastify request into the guard's framework-neutral view. */
import { headerViewOf, type RequestView } from '@meshguard/core/adapter'
import type { FastifyRequest } from 'fastify'

/**
 * Builds the view. Headers come through `headerViewOf` from the Node request: its `headers`, unless
 * `Authorization` came twice (Node keeps only the first, and identity must see both to reject them).
 *
 * @param request - the Fastify request
 * @param route - the route pattern, when the caller already read `request.routeOptions`
 *   @defaultValue `request.routeOptions.url`
 */
export function viewOf(request: FastifyRequest, route: string | undefined = request.routeOptions.url): RequestView<FastifyRequest> {
  return {
    // No path or query: resolvers read them from the request itself, and building them costs per request.
    method: request.method,
    route,
    target: request.raw.url,
    headers: headerViewOf(request.raw),
    params: (request.params ?? {}) as Record<string, unknown>,
    body: request.body,
    request,
  }
}
