import type { Environment } from '@marcbachmann/cel-js'
import { invalidArgument } from '../values.js'

/** Renamed at compile time: `ts.getHours(tz)` calls these so offsets like `-05:00` work (cel-go accepts them). */
export const ZONED_GETTERS: ReadonlyMap<string, string> = new Map(
  [
    'getFullYear',
    'getMonth',
    'getDate',
    'getDayOfMonth',
    'getDayOfWeek',
    'getDayOfYear',
    'getHours',
    'getMinutes',
    'getSeconds',
    'getMilliseconds',
  ].map((name) => [name, `cerbosZoned_${name}`]),
)

const OFFSET = /^([+-])?(\d{1,2}):(\d{2})$/
const zoneFormatters = new Map<string, Intl.DateTimeFormat>()

function zoneFormatter(zone: string): Intl.DateTimeFormat {
  let formatter = zoneFormatters.get(zone)
  if (formatter === undefined) {
    try {
      formatter = new Intl.DateTimeFormat('en-US', {
        timeZone: zone,
        hourCycle: 'h23',
        year: 'numeric',
        month: 'numeric',
        day: 'numeric',
        hour: 'numeric',
        minute: 'numeric',
        second: 'numeric',
      })
    } catch {
      return invalidArgument(`unknown time zone: ${zone}`)
    }
    if (zoneFormatters.size > 256) zoneFormatters.clear()
    zoneFormatters.set(zone, formatter)
  }
  return formatter
}

/** Milliseconds to add to UTC to get the wall-clock time in `zone` at instant `ts`. */
function zoneOffsetMs(ts: Date, zone: string): number {
  const offset = OFFSET.exec(zone)
  if (offset !== null) {
    const minutes = Number(offset[2]) * 60 + Number(offset[3])
    return (offset[1] === '-' ? -minutes : minutes) * 60_000
  }
  if (zone === 'UTC') return 0
  const parts: Record<string, number> = {}
  for (const part of zoneFormatter(zone).formatToParts(ts)) {
    if (part.type !== 'literal') parts[part.type] = Number(part.value)
  }
  const wall = Date.UTC(parts.year!, parts.month! - 1, parts.day, parts.hour, parts.minute, parts.second)
  return wall - (ts.getTime() - ts.getUTCMilliseconds())
}

/** The instant shifted so that its UTC fields are the wall-clock fields in `zone`. */
function inZone(ts: Date, zone: string): Date {
  return new Date(ts.getTime() + zoneOffsetMs(ts, zone))
}

function dayOfYear(d: Date): number {
  return Math.floor((d.getTime() - Date.UTC(d.getUTCFullYear(), 0, 1)) / 86_400_000)
}

const FIELDS: Record<string, (d: Date) => number> = {
  getFullYear: (d) => d.getUTCFullYear(),
  getMonth: (d) => d.getUTCMonth(),
  getDate: (d) => d.getUTCDate(),
  getDayOfMonth: (d) => d.getUTCDate() - 1,
  getDayOfWeek: (d) => d.getUTCDay(),
  getDayOfYear: dayOfYear,
  getHours: (d) => d.getUTCHours(),
  getMinutes: (d) => d.getUTCMinutes(),
  getSeconds: (d) => d.getUTCSeconds(),
  getMilliseconds: (d) => d.getUTCMilliseconds(),
}

/** `timestamp(...)` is renamed at compile time to these overloads: cel-go accepts only RFC 3339 text. */
export const TIMESTAMP_CONVERSION = 'cerbosTimestamp'

const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})$/
const MIN_TIMESTAMP_MS = -62135596800000 // 0001-01-01T00:00:00Z
const MAX_TIMESTAMP_MS = 253402300799999 // 9999-12-31T23:59:59.999Z

/**
 * The UTC offset (minutes) a timestamp was written with. Go keeps it and prints it back in
 * `string(ts)`; a JS `Date` cannot, so it is remembered beside the parsed value. Values computed
 * from it (`ts + duration`) print in UTC.
 */
const writtenOffsets = new WeakMap<Date, number>()

/**
 * Parses an RFC 3339 timestamp (nanoseconds are truncated to milliseconds: JS `Date`).
 *
 * @throws ConditionError (reason `invalid_argument`) for any other text or a year outside 1..9999
 */
export function parseTimestamp(text: string): Date {
  const m = RFC3339.exec(text)
  const date = m === null ? undefined : new Date(`${text.slice(0, 19)}${(m[7] ?? '').slice(0, 4)}${m[8]!.toUpperCase()}`)
  const ms = date?.getTime()
  if (m === null || ms === undefined || Number.isNaN(ms) || Number(m[2]) > 12 || Number(m[3]) > 31 || Number(m[4]) > 23) {
    return invalidArgument(`invalid RFC 3339 timestamp ${JSON.stringify(text)}`)
  }
  if (ms < MIN_TIMESTAMP_MS || ms > MAX_TIMESTAMP_MS) return invalidArgument('timestamp out of range')
  const zone = m[8]!
  if (zone !== 'Z' && zone !== 'z') {
    const minutes = Number(zone.slice(1, 3)) * 60 + Number(zone.slice(4, 6))
    if (minutes !== 0) writtenOffsets.set(date!, zone.startsWith('-') ? -minutes : minutes)
  }
  return date!
}

/** Validates a duration literal the way the library parses it (units ns, us, µs, ms, s, m, h). */
export function isDurationText(text: string): boolean {
  return /^[-+]?((\d+(\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h))+$/.test(text) || text === '0'
}

/** RFC 3339 with the shortest fractional second, as Go's `time.RFC3339Nano`, in the written offset. */
export function formatTimestamp(ts: Date): string {
  const offset = writtenOffsets.get(ts)
  if (offset === undefined) return ts.toISOString().replace(/\.?0+Z$/, 'Z').replace(/\.Z$/, 'Z')
  const local = new Date(ts.getTime() + offset * 60_000).toISOString().replace(/\.?0+Z$/, '').replace(/Z$/, '')
  const abs = Math.abs(offset)
  const zone = `${offset < 0 ? '-' : '+'}${String(Math.floor(abs / 60)).padStart(2, '0')}:${String(abs % 60).padStart(2, '0')}`
  return `${local}${zone}`
}

/** Timestamp and duration functions cel-go has and the library lacks or words differently. */
export function registerTime(env: Environment): void {
  const TS = 'google.protobuf.Timestamp'
  const DUR = 'google.protobuf.Duration'
  for (const [name, renamed] of ZONED_GETTERS) {
    const field = FIELDS[name]!
    env.registerFunction(`${TS}.${renamed}(string): int`, (ts: Date, zone: string) => BigInt(field(inZone(ts, zone))))
  }
  env.registerFunction(`${TIMESTAMP_CONVERSION}(string): ${TS}`, parseTimestamp)
  env.registerFunction(`${TIMESTAMP_CONVERSION}(${TS}): ${TS}`, (ts: Date) => ts)
  env.registerFunction(`${TIMESTAMP_CONVERSION}(int): ${TS}`, (seconds: bigint) => {
    const ms = Number(seconds) * 1000
    if (ms < MIN_TIMESTAMP_MS || ms > MAX_TIMESTAMP_MS) return invalidArgument('timestamp out of range')
    return new Date(ms)
  })
  env.registerFunction(`duration(${DUR}): ${DUR}`, (d: unknown) => d)
}
