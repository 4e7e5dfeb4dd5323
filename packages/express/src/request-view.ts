/** Translates an Express request into the guard's framework-neutral view. */
import { headerViewOf, type HeaderView, type RequestView } from '@meshguard/core/adapter'
import type { Request } from 'express'

/**
 * The view of one Express request: what every check uses (method, route, headers) is read up front;
 * params and body only when the pipeline asks for them (a string resource kind takes the `id`
 * param), since most routes resolve their resource from the request themselves.
 */
class ExpressRequestView<Req extends Request> implements RequestView<Req> {
  readonly method: string
  readonly route: string | undefined
  readonly headers: HeaderView
  readonly request: Req

  constructor(req: Req) {
    this.request = req
    this.method = req.method
    this.route = routePattern(req)
    this.headers = headerViewOf(req)
  }

  /** The request target as received (mounted routers strip `req.url`; `originalUrl` keeps it whole). */
  get target(): string {
    return this.request.originalUrl
  }

  get params(): Readonly<Record<string, unknown>> {
    return this.request.params
  }

  get body(): unknown {
    return this.request.body as unknown
  }
}

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
  return new ExpressRequestView(req)
}
