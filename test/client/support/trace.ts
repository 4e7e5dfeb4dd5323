import type { IncomingMessage, ServerResponse } from 'node:http'

import { context, defaultTextMapGetter, ROOT_CONTEXT, trace, type TextMapPropagator } from '@opentelemetry/api'

/** Trace ids each service saw on its inbound requests, by service name. */
export type TraceLog = Map<string, string[]>

/**
 * Wraps a Node request listener so that each request runs in the trace context it arrived with, as
 * OpenTelemetry's HTTP server instrumentation would, and records the inbound trace id.
 */
export function withInboundTrace(
  service: string,
  propagator: TextMapPropagator,
  log: TraceLog,
  listener: (req: IncomingMessage, res: ServerResponse) => unknown,
): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    const inbound = propagator.extract(ROOT_CONTEXT, req.headers, defaultTextMapGetter)
    const traceId = trace.getSpanContext(inbound)?.traceId
    if (traceId !== undefined) log.set(service, [...(log.get(service) ?? []), traceId])
    context.with(inbound, () => listener(req, res))
  }
}
