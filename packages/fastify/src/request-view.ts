/** Translates a Fastify request into the guard's framework-neutral view. */
import type { RequestView } from '@meshguard/core'
import type { FastifyRequest } from 'fastify'

/**
 * Builds the view. Headers come from Node's `headersDistinct`, because `request.headers` keeps only
 * the first of two `Authorization` headers and identity must see both to reject them.
 */
export function viewOf(request: FastifyRequest): RequestView<FastifyRequest> {
  return {
    // No path or query: resolvers read them from the request itself, and building them costs per request.
    method: request.method,
    route: request.routeOptions.url,
    headers: request.raw.headersDistinct,
    params: (request.params ?? {}) as Record<string, unknown>,
    body: request.body,
    request,
  }
}
