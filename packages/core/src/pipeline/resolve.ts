/**
 * Resolves the resource and action of a route from the request. Resolvers are user code: anything they
 * throw or return that is not a resource becomes a `ResourceResolutionError`, never an allow.
 */
import { MeshguardError, ResourceResolutionError } from '../errors.js'
import type { Resource } from '../types.js'
import type { RequestView, RouteAuthorization } from './types.js'

/** The resource id used for kind-only routes without an `id` route parameter. */
export const UNSPECIFIED_RESOURCE_ID = '_'

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v)

/** Checks a resolver's result has the shape the engine needs. */
function checkedResource(value: unknown): Resource {
  if (!isRecord(value)) {
    throw new ResourceResolutionError('resource resolver returned no resource', { reason: 'resource_invalid' })
  }
  const { kind, id, attr } = value
  if (typeof kind !== 'string' || kind === '' || typeof id !== 'string' || id === '') {
    throw new ResourceResolutionError('resource needs a non-empty string kind and id', { reason: 'resource_invalid' })
  }
  if (attr !== undefined && !isRecord(attr)) {
    throw new ResourceResolutionError('resource attr must be an object', { reason: 'resource_invalid' })
  }
  return value as unknown as Resource
}

/** User code may refuse with a meshguard error of its own (e.g. a `DeniedError`); anything else is wrapped. */
function wrapped(err: unknown, what: string): MeshguardError {
  if (err instanceof MeshguardError) return err
  return new ResourceResolutionError(`${what} failed`, { cause: err })
}

const isPromiseLike = (value: unknown): value is PromiseLike<unknown> =>
  typeof value === 'object' && value !== null && typeof (value as { then?: unknown }).then === 'function'

/**
 * Resolves the route's resource. Synchronous resolvers are answered without a promise (the hot path);
 * loaders return one. Throws or rejects with a meshguard error.
 */
export function resolveResource<Req>(view: RequestView<Req>, route: RouteAuthorization<Req>): Resource | Promise<Resource> {
  const { resource } = route
  if (typeof resource === 'string') {
    const id = view.params['id']
    return { kind: resource, id: typeof id === 'string' && id !== '' ? id : UNSPECIFIED_RESOURCE_ID, attr: {} }
  }
  if (typeof resource !== 'function') {
    throw new ResourceResolutionError('route has no resource', { reason: 'resource_invalid' })
  }
  let value: unknown
  try {
    value = resource(view.request)
  } catch (err) {
    throw wrapped(err, 'resource resolver')
  }
  if (!isPromiseLike(value)) return checkedResource(value)
  return Promise.resolve(value).then(checkedResource, (err: unknown) => {
    throw wrapped(err, 'resource loader')
  })
}

/** Resolves the route's action. Throws a meshguard error. */
export function resolveAction<Req>(view: RequestView<Req>, route: RouteAuthorization<Req>): string {
  const { action } = route
  if (typeof action === 'string') return action
  let value: unknown
  try {
    value = action(view.request)
  } catch (err) {
    throw wrapped(err, 'action resolver')
  }
  if (typeof value !== 'string' || value === '') {
    throw new ResourceResolutionError('action resolver returned no action', { reason: 'action_invalid' })
  }
  return value
}
