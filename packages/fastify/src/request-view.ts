/** Translates a Fastify request into the guard's framework-neutral view. */
import type { RequestView } from '@meshguard/core'
import type { FastifyRequest } from 'fastify'

/**
 * Builds the view. Headers come from Node's `headersDistinct`, because `request.headers` keeps only
 * the first of two `Authorization` headers and identity must see both to reject them.
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
    headers: request.raw.headersDistinct,
    params: (request.params ?? {}) as Record<string, unknown>,
    body: request.body,
    request,
  }
}
