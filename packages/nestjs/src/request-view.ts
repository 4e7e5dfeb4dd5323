/** Builds the guard's view from the request of either Nest platform. */
import { headerViewOf, type RequestView } from '@meshguard/core/adapter'
import type { IncomingMessage } from 'node:http'
import type { NestHttpRequest } from './types.js'

interface FastifyLikeRequest extends NestHttpRequest {
  raw: IncomingMessage
  method: string
  routeOptions?: { url?: string | undefined } | undefined
}

interface ExpressLikeRequest extends NestHttpRequest {
  method: string
  headers: IncomingMessage['headers']
  rawHeaders: IncomingMessage['rawHeaders']
  headersDistinct: IncomingMessage['headersDistinct']
  baseUrl: string
  originalUrl: string
  route?: { path?: unknown } | undefined
}

function isFastify(request: object): request is FastifyLikeRequest {
  return 'raw' in request && 'routeOptions' in request
}

/**
 * Headers come through `headerViewOf` on both platforms: Node's `headers`, unless `Authorization`
 * came twice (`headers` keeps only the first, and identity must see both to reject them).
 */
export function viewOf(request: NestHttpRequest): RequestView<NestHttpRequest> {
  if (isFastify(request)) {
    return {
      method: request.method,
      route: request.routeOptions?.url,
      target: request.raw.url,
      headers: headerViewOf(request.raw),
      // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- absent before routing, whatever the types say
      params: request.params ?? {},
      body: request.body,
      request,
    }
  }
  const req = request as ExpressLikeRequest
  const routePath = req.route?.path
  return {
    method: req.method,
    route: typeof routePath === 'string' ? `${req.baseUrl}${routePath}` : undefined,
    target: req.originalUrl,
    headers: headerViewOf(req),
    // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- absent before routing, whatever the types say
    params: req.params ?? {},
    body: req.body,
    request,
  }
}
