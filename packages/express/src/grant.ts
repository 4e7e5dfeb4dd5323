/**
 * Where `req.meshguard` lives. Express gives every request object a hidden class of its own (it
 * re-prototypes each one), so adding a property to `req` builds a new hidden class on every request:
 * measured at ~3 % of a whole Express request. Instead the grant goes into `res.locals` (a
 * dictionary object Express creates per request) under a symbol, and `req.meshguard` is an accessor
 * on Express's shared request prototype (`express.request`, which Express offers for extension), so
 * it reads the same from every app and sub-app. Requests that are not Express-shaped (no
 * `res.locals`, or a prototype chain without `express.request`) get a plain property, as before.
 */
import { IncomingMessage } from 'node:http'
import type { GuardGrant } from '@meshguard/core'
import type { Request, Response } from 'express'

/** Registered, so that two copies of this package in one process read each other's grants. */
const GRANT = Symbol.for('meshguard.express.grant')

type Locals = Record<PropertyKey, unknown>

/** The response's locals, when they are an object. */
function localsOf(res: unknown): Locals | undefined {
  const locals = (res as { locals?: unknown } | undefined)?.locals
  return typeof locals === 'object' && locals !== null ? (locals as Locals) : undefined
}

function meshguardGrant(this: Request): GuardGrant | undefined {
  return localsOf(this.res)?.[GRANT] as GuardGrant | undefined
}

/** An assignment by the application lands where the accessor reads (a plain property without locals). */
function assignGrant(this: Request, value: GuardGrant | undefined): void {
  const locals = localsOf(this.res)
  if (locals !== undefined) locals[GRANT] = value
  else Object.defineProperty(this, 'meshguard', { value, writable: true, enumerable: true, configurable: true })
}

/** Per direct prototype of a request (one per Express app): whether the accessor serves it. */
const servedByAccessor = new WeakMap<object, boolean>()

/** Installs the accessor on `express.request` (the prototype just above Node's IncomingMessage's), once. */
function installAccessor(proto: object): boolean {
  let holder: object | null = proto
  while (holder !== null && Object.getPrototypeOf(holder) !== IncomingMessage.prototype) holder = Object.getPrototypeOf(holder) as object | null
  if (holder === null) return false
  const existing = Object.getOwnPropertyDescriptor(holder, 'meshguard')
  if (existing !== undefined) return existing.get === meshguardGrant
  Object.defineProperty(holder, 'meshguard', { get: meshguardGrant, set: assignGrant, enumerable: false, configurable: true })
  return true
}

/** Makes `grant` the request's `req.meshguard`. */
export function attachGrant(req: Request, res: Response, grant: GuardGrant): void {
  const proto = Object.getPrototypeOf(req) as object | null
  let viaLocals = proto === null ? false : servedByAccessor.get(proto)
  if (viaLocals === undefined && proto !== null) {
    viaLocals = installAccessor(proto)
    servedByAccessor.set(proto, viaLocals)
  }
  const locals = viaLocals === true ? localsOf(res) : undefined
  if (locals !== undefined) locals[GRANT] = grant
  else req.meshguard = grant
}
