import { AsyncLocalStorage } from 'node:async_hooks'

import { ROOT_CONTEXT, type Context, type ContextManager } from '@opentelemetry/api'

/**
 * A minimal AsyncLocalStorage context manager, so `context.with` carries a span context across
 * awaits in tests without pulling in an SDK. Register with `context.setGlobalContextManager` and
 * undo with `context.disable()`.
 */
export class TestContextManager implements ContextManager {
  readonly #storage = new AsyncLocalStorage<Context>()
  active(): Context {
    return this.#storage.getStore() ?? ROOT_CONTEXT
  }
  with<A extends unknown[], F extends (...args: A) => ReturnType<F>>(
    ctx: Context,
    fn: F,
    thisArg?: ThisParameterType<F>,
    ...args: A
  ): ReturnType<F> {
    return this.#storage.run(ctx, () => fn.apply(thisArg, args))
  }
  bind<T>(ctx: Context, target: T): T {
    if (typeof target !== 'function') return target
    const storage = this.#storage
    return function bound(this: unknown, ...args: unknown[]) {
      return storage.run(ctx, () => (target as (...a: unknown[]) => unknown).apply(this, args))
    } as T
  }
  enable(): this {
    return this
  }
  disable(): this {
    this.#storage.disable()
    return this
  }
}
