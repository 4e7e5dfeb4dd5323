// Public API of the telemetry module: named exports only.
export * from './attributes.js'
export { createTelemetry } from './telemetry.js'
export type {
  Telemetry,
  TelemetryOptions,
  AuthorizationDecision,
  AuthorizationStart,
  AuthorizationEnd,
  AuthorizationSpan,
  PolicyDigestSource,
} from './telemetry.js'
