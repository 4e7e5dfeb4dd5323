import { propagation, type Context, type TextMapPropagator, type TextMapSetter } from '@opentelemetry/api'

import type { HeaderRecord } from './headers.js'

const headerSetter: TextMapSetter<HeaderRecord> = {
  set(carrier, key, value) {
    carrier[key.toLowerCase()] = value
  },
}

/**
 * Writes the trace context of `ctx` (`traceparent`, `tracestate`, and whatever else the propagator
 * carries) into `headers`. Without a `propagator`, the globally registered one is used, which is a
 * no-op when no OpenTelemetry SDK is installed.
 */
export function injectTraceContext(headers: HeaderRecord, ctx: Context, propagator: TextMapPropagator | undefined): void {
  if (propagator) propagator.inject(ctx, headers, headerSetter)
  else propagation.inject(ctx, headers, headerSetter)
}
