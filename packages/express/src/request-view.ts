/** Translates an Express request into the guard's framework-neutral view. */
import { headerViewOf, type RequestView } from '@meshguard/core'
import type { Request } from 'express'

/** The route pattern (`/reviews/:id`) once Express has matched a route; undefined in app-level middleware. */
function routePattern(req: Request): string | undefined {
  const path: unknown = (req.route as { path?: unknown } | undefined)?.path
  return typeof path === 'string' ? `${req.baseUrl}${path}` : undefined
}

/**
 * Builds the view. Headers come through `headerViewOf`: `req.headers`, unless `Authorization` came
 * twice (Node keeps only the first in `req.headers`, and identity must see both to reject them).
 * No path or query: resolvers read them from the request itself, and building them costs per request.
 */
export function viewOf<Req extends Request>(req: Req): RequestView<Req> {
  return {
    method: req.method,
    route: routePattern(req),
    headers: headerViewOf(req),
    params: req.params,
    body: req.body as unknown,
    request: req,
  }
}
