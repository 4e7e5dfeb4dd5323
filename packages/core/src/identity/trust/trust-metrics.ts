import type { TrustEvent } from './types.js'

/** The part of core's `Telemetry` that records key-set activity (structural, so identity needs no telemetry import). */
export interface JwksMetricsRecorder {
  recordJwksRefresh(outcome: 'success' | 'failure', issuer?: string): void
  recordJwksStale(issuer?: string): void
}

/**
 * Turns trust-bundle events into metrics: pass the result as `trust.onEvent`.
 *
 * @example
 * ```ts
 * const trust = createTrustBundle({ workloads, actors, onEvent: recordTrustEvents(telemetry) })
 * ```
 */
export function recordTrustEvents(metrics: JwksMetricsRecorder): (event: TrustEvent) => void {
  return (event) => {
    switch (event.type) {
      case 'jwks_fetched':
      case 'jwks_file_reloaded':
        metrics.recordJwksRefresh('success', event.source)
        break
      case 'jwks_fetch_failed':
        metrics.recordJwksRefresh('failure', event.source)
        break
      case 'jwks_stale_served':
        metrics.recordJwksStale(event.source)
        break
      default:
        break
    }
  }
}
