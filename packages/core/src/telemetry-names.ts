/**
 * `@meshguard/core/telemetry`: the names meshguard gives its spans, span attributes, events and
 * metrics (for dashboards and alerts), and the bridge from trust-store events to metrics.
 *
 * @packageDocumentation
 */
export * from './telemetry/attributes.js'
export { AUDIT_LOG_EVENT_NAME } from './audit/index.js'
export { recordTrustEvents } from './identity/index.js'
export type { JwksMetricsRecorder, TrustCounters } from './identity/index.js'
export type {
  AuthorizationDecision,
  AuthorizationStart,
  AuthorizationEnd,
  AuthorizationSpan,
  PolicyDigestSource,
} from './telemetry/index.js'
