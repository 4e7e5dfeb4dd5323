// Public API of the audit module: named exports only.
export type {
  AuditRecord,
  AuditRecordKind,
  AuditOutcome,
  AuditDelegationHop,
  AuditTokenDigests,
  AuditCheckResources,
  AuditShadow,
  AuditShadowDifference,
} from './record.js'
export type { AuditSink, AuditLogStats, AuditSinkStats } from './sink.js'
export { createAuditLog } from './log.js'
export type { KeepAllowed } from './keep-policy.js'
export type { AuditLog, AuditLogOptions, AuditHealth } from './log.js'
export { stdoutSink, fileSink, functionSink } from './sinks.js'
export type { StreamSinkOptions, FileSinkOptions } from './sinks.js'
export { otelLogsSink, AUDIT_LOG_EVENT_NAME } from './otel-logs-sink.js'
export type { OtelLogsSinkOptions, OtelLoggerProviderLike, OtelLogValue } from './otel-logs-sink.js'
export { hashToken, filterAttributes, filterCheckInputs, maskExplanation, MASKED_VALUE } from './redact.js'
export type { AttributeFilter, AuditAttributeConfig } from './redact.js'
