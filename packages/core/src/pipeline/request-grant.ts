/**
 * Where adapters keep a request's grant, read back as `req.meshguard`.
 *
 * Express (and Nest on its Express platform) re-prototypes every request object, and with V8 that
 * leaves each request with a hidden class of its own: adding a property then builds a new hidden
 * class on every request, measured at ~3 % of a whole Express request. So, for requests built on
 * Node's `IncomingMessage` whose response has `locals` (Express's per-request dictionary object),
 * the grant goes into `res.locals` under a registered symbol, and `meshguard` is an accessor on the
 * prototype just above `IncomingMessage.prototype` (`express.request`, which Express offers for
 * extension): it reads the same from every app and sub-app. Any other request (Fastify's, a test
 * double) gets a plain property.
 */
import { IncomingMessage } from 'node:http'
import type { GuardGrant } from './types.js'

/** Registered, so that two copies of core in one process read each other's grants. */
const GRANT = Symbol.for('meshguard.grant')

type Locals = Record<PropertyKey, unknown>

/** The response's locals, when they are an object. */
function localsOf(res: unknown): Locals | undefined {
  const locals = (res as { locals?: unknown } | undefined)?.locals
  return typeof locals === 'object' && locals !== null ? (locals as Locals) : undefined
}

function readGrant(this: { res?: unknown }): GuardGrant | undefined {
  return localsOf(this.res)?.[GRANT] as GuardGrant | undefined
}

/** An assignment by the application lands where the accessor reads (a plain property without locals). */
function writeGrant(this: { res?: unknown }, value: GuardGrant | undefined): void {
  const locals = localsOf(this.res)
  if (locals !== undefined) locals[GRANT] = value
  else Object.defineProperty(this, 'meshguard', { value, writable: true, enumerable: true, configurable: true })
}

/** Per direct prototype of a request (one per Express app): whether the accessor serves it. */
const servedByAccessor = new WeakMap<object, boolean>()

/** Installs the accessor on the prototype just above Node's `IncomingMessage.prototype`, once. */
function installAccessor(proto: object): boolean {
  let holder: object | null = proto
  while (holder !== null && Object.getPrototypeOf(holder) !== IncomingMessage.prototype) holder = Object.getPrototypeOf(holder) as object | null
  if (holder === null) return false
  const existing = Object.getOwnPropertyDescriptor(holder, 'meshguard')
  if (existing !== undefined) return existing.get === readGrant
  Object.defineProperty(holder, 'meshguard', { get: readGrant, set: writeGrant, enumerable: false, configurable: true })
  return true
}

/**
 * Makes `grant` the request's `req.meshguard`, without adding a property to requests that have a
 * hidden class of their own (see the module comment). For adapter authors: the Express middleware
 * and the Nest guard call it once a request is allowed.
 *
 * @param req - the framework's request object.
 * @param res - the framework's response object (its `locals`, when it has them, hold the grant).
 * @param grant - the verified caller and the decision.
 */
export function attachRequestGrant(req: object, res: unknown, grant: GuardGrant): void {
  const proto = Object.getPrototypeOf(req) as object | null
  let viaLocals = proto === null ? false : servedByAccessor.get(proto)
  if (viaLocals === undefined && proto !== null) {
    viaLocals = installAccessor(proto)
    servedByAccessor.set(proto, viaLocals)
  }
  const locals = viaLocals === true ? localsOf(res) : undefined
  if (locals !== undefined) locals[GRANT] = grant
  else (req as { meshguard?: GuardGrant }).meshguard = grant
}
