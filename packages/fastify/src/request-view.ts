/** Translates a Fastify request into the guard's framework-neutral view. */
import type { RequestView } from '@meshguard/core'
import type { FastifyRequest } from 'fastify'

/**
 * Builds the view. Headers come from Node's `headersDistinct`, because `request.headers` keeps only
 * the first of two `Authorization` headers and identity must see both to reject them.
 */
export function viewOf(request: FastifyRequest): RequestView<FastifyRequest> {
  return {
    method: request.method,
    get path() {
      const url = request.url
      const query = url.indexOf('?')
      return query === -1 ? url : url.slice(0, query)
    },
    route: request.routeOptions.url,
    headers: request.raw.headersDistinct,
    params: (request.params ?? {}) as Record<string, unknown>,
    get query() {
      return (request.query ?? {}) as Record<string, unknown>
    },
    body: request.body,
    request,
  }
}
