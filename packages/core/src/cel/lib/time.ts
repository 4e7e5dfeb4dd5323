import type { Environment } from '@marcbachmann/cel-js'
import { Duration, invalidArgument } from '../values.js'

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
  const wall = Date.UTC(parts.year!, parts.month! - 1, parts.day!, parts.hour!, parts.minute!, parts.second!)
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

/** RFC 3339 with the shortest fractional second, as Go's `time.RFC3339Nano`. */
export function formatTimestamp(ts: Date): string {
  return ts.toISOString().replace(/\.?0+Z$/, 'Z').replace(/\.Z$/, 'Z')
}

/** Timestamp and duration functions cel-go has and the library lacks or words differently. */
export function registerTime(env: Environment): void {
  const TS = 'google.protobuf.Timestamp'
  const DUR = 'google.protobuf.Duration'
  for (const [name, renamed] of ZONED_GETTERS) {
    const field = FIELDS[name]!
    env.registerFunction(`${TS}.${renamed}(string): int`, (ts: Date, zone: string) => BigInt(field(inZone(ts, zone))))
  }
  env.registerFunction(`string(${TS}): string`, formatTimestamp)
  env.registerFunction(`string(${DUR}): string`, (d: InstanceType<typeof Duration>) => d.toString())
  env.registerFunction(`timestamp(${TS}): ${TS}`, (ts: Date) => ts)
  env.registerFunction(`duration(${DUR}): ${DUR}`, (d: unknown) => d)
}
