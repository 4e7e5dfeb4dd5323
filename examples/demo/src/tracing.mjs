/**
 * In-process OpenTelemetry tracing for the demo, so every hop's audit record carries the trace id
 * of the request that started at the gateway. A real deployment registers the OpenTelemetry Node
 * SDK instead; meshguard itself only uses `@opentelemetry/api`.
 */
import { AsyncLocalStorage } from 'node:async_hooks'
import { ROOT_CONTEXT, context, propagation, trace } from '@opentelemetry/api'
import { W3CTraceContextPropagator } from '@opentelemetry/core'
import { BasicTracerProvider } from '@opentelemetry/sdk-trace-base'

/** The active OpenTelemetry context, carried through async work by `AsyncLocalStorage`. */
class AsyncLocalContextManager {
  /** @type {AsyncLocalStorage<import('@opentelemetry/api').Context>} */
  #storage = new AsyncLocalStorage()

  active() {
    return this.#storage.getStore() ?? ROOT_CONTEXT
  }

  /**
   * @template {(...args: any[]) => any} F
   * @param {import('@opentelemetry/api').Context} ctx
   * @param {F} fn
   * @param {ThisParameterType<F>} [thisArg]
   * @param {Parameters<F>} args
   * @returns {ReturnType<F>}
   */
  with(ctx, fn, thisArg, ...args) {
    return this.#storage.run(ctx, () => fn.apply(thisArg, args))
  }

  /**
   * @template T
   * @param {import('@opentelemetry/api').Context} ctx
   * @param {T} target
   * @returns {T}
   */
  bind(ctx, target) {
    if (typeof target !== 'function') return target
    const runInContext = (/** @type {() => unknown} */ fn) => this.with(ctx, fn)
    return /** @type {T} */ (
      /** @type {unknown} */ (
        /** @this {unknown} */
        function bound(/** @type {unknown[]} */ ...args) {
          return runInContext(() => target.apply(this, args))
        }
      )
    )
  }

  enable() {
    return this
  }

  disable() {
    this.#storage.disable()
    return this
  }
}

/**
 * Registers a tracer provider, the W3C trace-context propagator and a context manager as the
 * process-wide OpenTelemetry globals. Returns the function that unregisters them.
 * @returns {() => void}
 */
export function registerTracing() {
  context.setGlobalContextManager(new AsyncLocalContextManager())
  propagation.setGlobalPropagator(new W3CTraceContextPropagator())
  trace.setGlobalTracerProvider(new BasicTracerProvider())
  return () => {
    trace.disable()
    propagation.disable()
    context.disable()
  }
}
