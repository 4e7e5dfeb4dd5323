/**
 * Which decision records the log keeps: every denial, error and authentication failure always;
 * allow records all, none, or a sample. A sample is drawn from the record's decision id, so the same
 * decision is kept or left out the same way by every process that sees it.
 */
import { ConfigError } from '../errors.js'
import type { AuditRecord } from './record.js'

/** `true` keeps every allow record, `false` none, a number in (0, 1) that share of them. */
export type KeepAllowed = boolean | number

/** Whether a record is kept; built once from the log's options. */
export type KeepPolicy = (record: AuditRecord) => boolean

const keepAll: KeepPolicy = () => true

/** FNV-1a over the id's UTF-16 units, as a fraction of 2^32: uniform enough for random ids. */
function fractionOf(id: string): number {
  let hash = 0x811c9dc5
  for (let i = 0; i < id.length; i++) {
    hash ^= id.charCodeAt(i)
    hash = Math.imul(hash, 0x01000193)
  }
  return (hash >>> 0) / 0x1_0000_0000
}

/** Records that are always kept: anything but an allow, and any allow that carries a shadow disagreement. */
function mustKeep(record: AuditRecord): boolean {
  return record.outcome !== 'allowed' || record.shadow !== undefined
}

/**
 * The keep rule for `keepAllowed`.
 *
 * @throws ConfigError when `keepAllowed` is neither a boolean nor a number from 0 to 1
 */
export function keepPolicyOf(keepAllowed: KeepAllowed | undefined): KeepPolicy {
  if (keepAllowed === undefined || keepAllowed === true || keepAllowed === 1) return keepAll
  if (keepAllowed === false || keepAllowed === 0) return mustKeep
  if (typeof keepAllowed !== 'number' || !(keepAllowed > 0 && keepAllowed < 1)) {
    throw new ConfigError('audit.keepAllowed', 'must be true, false, or a share from 0 to 1')
  }
  const share = keepAllowed
  return (record) => mustKeep(record) || fractionOf(record.callId) < share
}
