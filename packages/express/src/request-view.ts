/** Translates an Express request into the guard's framework-neutral view. */
import type { RequestView } from '@meshguard/core'
import type { Request } from 'express'

/** The route pattern (`/reviews/:id`) once Express has matched a route; undefined in app-level middleware. */
function routePattern(req: Request): string | undefined {
  const path: unknown = (req.route as { path?: unknown } | undefined)?.path
  return typeof path === 'string' ? `${req.baseUrl}${path}` : undefined
}

/**
 * Builds the view: headers from `headersDistinct`, because Node keeps only the first of two
 * `Authorization` headers in `req.headers` and identity must see both to reject them.
 */
export function viewOf<Req extends Request>(req: Req): RequestView<Req> {
  return {
    method: req.method,
    path: req.path,
    route: routePattern(req),
    headers: req.headersDistinct,
    params: req.params,
    body: req.body as unknown,
    request: req,
  }
}
