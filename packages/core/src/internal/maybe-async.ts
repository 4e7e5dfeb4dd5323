/**
 * Values that are ready now or later. The request path answers synchronously when every step is
 * ready (cached identity, local keys, the embedded engine), because each promise costs a microtask
 * and, once AsyncLocalStorage is on, an async-hook round per promise.
 */

/** A value now, or a promise of it. */
export type MaybePromise<T> = T | Promise<T>

/** True for a native promise (every asynchronous step on the request path returns one). */
export function isPromise<T>(value: MaybePromise<T>): value is Promise<T> {
  return value instanceof Promise
}

/**
 * Continues with `next` now when `value` is ready, else when it settles. A synchronous throw from
 * `next` stays synchronous, as it would in straight-line code.
 */
export function andThen<T, U>(value: MaybePromise<T>, next: (value: T) => MaybePromise<U>): MaybePromise<U> {
  return value instanceof Promise ? value.then(next) : next(value)
}
