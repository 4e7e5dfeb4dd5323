import type { AuditSink } from './sink.js'

/** A log body value, as `@opentelemetry/api-logs` `AnyValue` defines it. */
export type OtelLogValue =
  | string
  | number
  | boolean
  | Uint8Array
  | OtelLogValue[]
  | { [key: string]: OtelLogValue }
  | null
  | undefined

/**
 * The part of an OpenTelemetry `LoggerProvider` (from `@opentelemetry/api-logs`) this sink uses.
 * Structural, so core's types never require `@opentelemetry/api-logs` to be installed.
 */
export interface OtelLoggerProviderLike {
  getLogger(name: string, version?: string): {
    emit(record: {
      timestamp?: Date
      severityNumber?: number
      severityText?: string
      body?: OtelLogValue
      eventName?: string
      attributes?: Record<string, string | number | boolean | undefined>
    }): void
  }
}

/** Options of {@link otelLogsSink}. */
export interface OtelLogsSinkOptions {
  /**
   * The logger provider. @defaultValue the global one from `@opentelemetry/api-logs`
   * (loaded lazily; the sink fails with a clear error if that package is not installed).
   */
  loggerProvider?: OtelLoggerProviderLike | undefined
}

// OpenTelemetry SeverityNumber values (logs data model): INFO = 9, WARN = 13.
const SEVERITY_INFO = 9
const SEVERITY_WARN = 13

/** Name of the log events this sink emits. */
export const AUDIT_LOG_EVENT_NAME = 'meshguard.authz.audit'

const loadGlobalProvider = async (): Promise<OtelLoggerProviderLike> => {
  try {
    const api = await import('@opentelemetry/api-logs')
    return api.logs.getLoggerProvider()
  } catch (error) {
    throw new Error('otelLogsSink needs @opentelemetry/api-logs installed or a loggerProvider option', {
      cause: error,
    })
  }
}

/**
 * Audit records as OpenTelemetry log records: body = the record, a few indexed attributes, severity
 * INFO for allows and WARN otherwise.
 */
export function otelLogsSink(options: OtelLogsSinkOptions = {}): AuditSink {
  let logger: Promise<ReturnType<OtelLoggerProviderLike['getLogger']>> | undefined
  const getLogger = (): Promise<ReturnType<OtelLoggerProviderLike['getLogger']>> => {
    logger ??= (options.loggerProvider ? Promise.resolve(options.loggerProvider) : loadGlobalProvider())
      .then((provider) => provider.getLogger('@meshguard/core'))
      .catch((error: unknown) => {
        logger = undefined
        throw error
      })
    return logger
  }
  return {
    name: 'otel-logs',
    async write(records) {
      const target = await getLogger()
      for (const record of records) {
        const allowed = record.outcome === 'allowed'
        target.emit({
          timestamp: new Date(record.timestamp),
          severityNumber: allowed ? SEVERITY_INFO : SEVERITY_WARN,
          severityText: allowed ? 'INFO' : 'WARN',
          eventName: AUDIT_LOG_EVENT_NAME,
          // A JSON round trip turns the record into plain log values (drops undefined fields).
          body: JSON.parse(JSON.stringify(record)) as OtelLogValue,
          attributes: {
            'authz.call_id': record.callId,
            'authz.outcome': record.outcome,
            'authz.reason': record.reason,
            'authz.resource.kind': record.resource?.kind,
            'authz.action': record.action,
            'authz.policy.digest': record.policyDigest,
          },
        })
      }
    },
  }
}
