import type { Environment } from '@marcbachmann/cel-js'
import { ConditionError } from '../../errors.js'
import { formatTimestamp } from './time.js'
import { Duration, Optional, UnsignedInt, invalidArgument, toIndex } from '../values.js'

function codePoints(text: string): string[] {
  return Array.from(text)
}

function charAt(text: string, index: bigint): string {
  const chars = codePoints(text)
  const i = toIndex(index)
  if (i < 0 || i > chars.length) invalidArgument(`index out of range: ${i}`)
  return chars[i] ?? ''
}

function replace(text: string, from: string, to: string, limit: bigint = -1n): string {
  if (limit < 0n) return text.split(from).join(to)
  let out = text
  let position = 0
  for (let n = 0n; n < limit; n++) {
    const at = out.indexOf(from, position)
    if (at < 0) break
    out = out.slice(0, at) + to + out.slice(at + from.length)
    position = at + to.length + (from === '' ? 1 : 0)
  }
  return out
}

/** Go `strconv.Quote`-style quoting used by `strings.quote`. */
export function quote(text: string): string {
  let out = '"'
  for (const ch of text) {
    const code = ch.codePointAt(0)!
    switch (ch) {
      case '"':
        out += '\\"'
        break
      case '\\':
        out += '\\\\'
        break
      case '\n':
        out += '\\n'
        break
      case '\r':
        out += '\\r'
        break
      case '\t':
        out += '\\t'
        break
      case '\b':
        out += '\\b'
        break
      case '\f':
        out += '\\f'
        break
      case '\v':
        out += '\\v'
        break
      case '\x07':
        out += '\\a'
        break
      default:
        out += code < 0x20 || code === 0x7f ? `\\x${code.toString(16).padStart(2, '0')}` : ch
    }
  }
  return `${out}"`
}

/** How `%s` shows a value (cel-go's rules: nested strings unquoted, map entries sorted by key text). */
export function displayString(value: unknown): string {
  if (typeof value === 'string') return value
  if (typeof value === 'bigint' || typeof value === 'boolean') return String(value)
  if (typeof value === 'number') return formatDouble(value)
  if (value === null) return 'null'
  if (value instanceof UnsignedInt) return value.toString()
  if (value instanceof Date) return formatTimestamp(value)
  if (value instanceof Duration) return value.toString()
  if (value instanceof Uint8Array) return new TextDecoder().decode(value)
  if (Array.isArray(value)) return `[${value.map(displayString).join(', ')}]`
  if (value instanceof Optional) return value.hasValue() ? `optional(${displayString(value.value())})` : 'optional.none()'
  if (value instanceof Map || (typeof value === 'object' && isPlainObject(value))) {
    const entries = value instanceof Map ? [...value.entries()] : Object.entries(value as Record<string, unknown>)
    const shown = entries.map(([k, v]) => [displayString(k), displayString(v)] as const)
    shown.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    return `{${shown.map(([k, v]) => `${k}: ${v}`).join(', ')}}`
  }
  if (typeof value === 'object' && value.constructor.name === 'Type') {
    const typeName = (value as { name?: unknown }).name
    if (typeof typeName === 'string') return typeName
  }
  // eslint-disable-next-line @typescript-eslint/no-base-to-string -- any other value shows as JavaScript prints it
  return String(value)
}

function isPlainObject(value: object): boolean {
  const proto: unknown = Object.getPrototypeOf(value)
  return proto === Object.prototype || proto === null
}

function formatDouble(value: number): string {
  if (Number.isNaN(value)) return 'NaN'
  if (value === Infinity) return 'Infinity'
  if (value === -Infinity) return '-Infinity'
  return plainDecimal(value)
}

/** The shortest round-trip digits of `n` without an exponent (Go `FormatFloat(n, 'f', -1, 64)`). */
export function plainDecimal(n: number): string {
  const text = String(n)
  const e = text.indexOf('e')
  if (e < 0) return text
  const negative = text.startsWith('-')
  const mantissa = text.slice(negative ? 1 : 0, e)
  const exponent = Number(text.slice(e + 1))
  const digits = mantissa.replace('.', '')
  const point = (mantissa.indexOf('.') < 0 ? mantissa.length : mantissa.indexOf('.')) + exponent
  const body =
    point <= 0 ? `0.${'0'.repeat(-point)}${digits}` : point >= digits.length ? digits + '0'.repeat(point - digits.length) : `${digits.slice(0, point)}.${digits.slice(point)}`
  return negative ? `-${body}` : body
}

/** `string(double)`: Go `FormatFloat(n, 'g', -1, 64)`, i.e. an exponent from 1e6 up or below 1e-4. */
export function goFormatG(n: number): string {
  if (Number.isNaN(n)) return 'NaN'
  if (n === Infinity) return '+Inf'
  if (n === -Infinity) return '-Inf'
  if (n === 0) return Object.is(n, -0) ? '-0' : '0'
  const [mantissa, exponentText] = n.toExponential().split('e') as [string, string]
  const exponent = Number(exponentText)
  if (exponent < -4 || exponent >= 6) {
    const sign = exponent < 0 ? '-' : '+'
    return `${mantissa}e${sign}${String(Math.abs(exponent)).padStart(2, '0')}`
  }
  return plainDecimal(n)
}

/** `x.toFixed(precision)` but ties round half to even on the exact binary value, as Go's strconv does. */
function toFixedHalfEven(x: number, precision: number): string {
  // From 1e21 on, toFixed switches to exponent notation; such doubles are integers anyway.
  if (Math.abs(x) >= 1e21) return precision === 0 ? plainDecimal(x) : `${plainDecimal(x)}.${'0'.repeat(precision)}`
  const wide = x.toFixed(Math.min(100, precision + 30))
  const cut = wide.indexOf('.') + 1 + precision
  const rest = wide.slice(cut)
  if (!/^50*$/.test(rest)) return x.toFixed(precision)
  const kept = wide.slice(0, precision === 0 ? cut - 1 : cut)
  const lastDigit = Number(kept[kept.length - 1])
  if (lastDigit % 2 === 0) return kept
  return x.toFixed(precision) // the odd neighbour rounds away, which toFixed already does
}

function asNumber(value: unknown, verb: string): number | bigint {
  if (typeof value === 'number' || typeof value === 'bigint') return value
  if (value instanceof UnsignedInt) return value.valueOf()
  throw new ConditionError(`error during formatting: ${verb} expects a number`, { reason: 'invalid_argument' })
}

function fixed(value: unknown, precision: number, verb: string): string {
  const n = Number(asNumber(value, verb))
  if (!Number.isFinite(n)) return formatDouble(n)
  return verb === 'e' ? n.toExponential(precision).replace(/e([+-])(\d)$/, 'e$10$2') : toFixedHalfEven(n, precision)
}

function integer(value: unknown, radix: number, verb: string): string {
  if (typeof value === 'boolean' && radix === 2) return value ? '1' : '0'
  if (typeof value === 'number') {
    // cel-go prints a double given to %d as its plain decimal digits; other integer verbs reject it.
    if (radix === 10) return formatDouble(value)
    throw new ConditionError(`error during formatting: only ints, uints, bytes, and strings can be formatted as hex, was given double`, {
      reason: 'invalid_argument',
    })
  }
  return BigInt(asNumber(value, verb)).toString(radix)
}

function hexOf(value: unknown, upper: boolean): string {
  let out: string
  if (typeof value === 'string') out = Buffer.from(value, 'utf8').toString('hex')
  else if (value instanceof Uint8Array) out = Buffer.from(value).toString('hex')
  else out = integer(value, 16, 'x')
  return upper ? out.toUpperCase() : out
}

/** One clause of a format template: what `%(\.\d+)?([a-zA-Z%])?` matches at `start`. */
interface Clause {
  /** Where the text after the clause starts. */
  end: number
  precision: number | undefined
  verb: string | undefined
}

const isDigit = (code: number): boolean => code >= 48 && code <= 57
const isVerb = (code: number): boolean => (code >= 65 && code <= 90) || (code >= 97 && code <= 122) || code === 37

/** Reads the clause whose `%` is at `start` (a hand-written scan: the regex with a callback was the cost of `format`). */
function clauseAt(template: string, start: number): Clause {
  let i = start + 1
  let precision: number | undefined
  if (template.charCodeAt(i) === 46 && isDigit(template.charCodeAt(i + 1))) {
    let j = i + 1
    while (isDigit(template.charCodeAt(j))) j++
    precision = Number(template.slice(i + 1, j))
    i = j
  }
  const verb = isVerb(template.charCodeAt(i)) ? template[i] : undefined
  return { end: verb === undefined ? i : i + 1, precision, verb }
}

/** cel-go `string.format(list)`: `%s %d %f %.Nf %e %x %X %o %b %%`. */
export function format(template: string, args: readonly unknown[]): string {
  let next = 0
  const take = (): unknown => {
    if (next >= args.length) {
      throw new ConditionError(`index ${next} out of range`, { reason: 'invalid_argument' })
    }
    return args[next++]
  }
  let out = ''
  let from = 0
  for (let at = template.indexOf('%'); at >= 0; at = template.indexOf('%', from)) {
    const { end, precision, verb } = clauseAt(template, at)
    out += template.slice(from, at) + formatClause(verb, precision, take)
    from = end
  }
  return from === 0 ? template : out + template.slice(from)
}

function formatClause(verb: string | undefined, precision: number | undefined, take: () => unknown): string {
  switch (verb) {
    case '%':
      return '%'
    case 's':
      return displayString(take())
    case 'd':
      return integer(take(), 10, 'd')
    case 'f':
      return fixed(take(), precision ?? 6, 'f')
    case 'e':
      return fixed(take(), precision ?? 6, 'e')
    case 'x':
      return hexOf(take(), false)
    case 'X':
      return hexOf(take(), true)
    case 'o':
      return integer(take(), 8, 'o')
    case 'b':
      return integer(take(), 2, 'b')
    default:
      throw new ConditionError(`could not parse formatting clause: unrecognized formatting clause "${verb ?? ''}"`, {
        reason: 'invalid_argument',
      })
  }
}

/** Renamed at compile time: the library's versions are not ASCII-only / trim other characters than cel-go. */
export const STRING_RENAMES: ReadonlyMap<string, string> = new Map([
  ['lowerAscii', 'cerbosLowerAscii'],
  ['upperAscii', 'cerbosUpperAscii'],
  ['trim', 'cerbosTrim'],
])

/** Go `unicode.IsSpace`: what cel-go's `trim` removes. */
const GO_SPACE = '[\\t\\n\\v\\f\\r \\u0085\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000]'
const TRIM = new RegExp(`^${GO_SPACE}+|${GO_SPACE}+$`, 'g')

class StringsNamespace {}

/** Registers the parts of cel-go's strings extension the library lacks. */
export function registerStrings(env: Environment): void {
  env.registerFunction('string.charAt(int): string', charAt)
  env.registerFunction('string.replace(string, string): string', (t: string, a: string, b: string) => replace(t, a, b))
  env.registerFunction('string.replace(string, string, int): string', replace)
  env.registerFunction('string.format(list): string', format)
  env.registerFunction('string.cerbosLowerAscii(): string', (t: string) => t.replace(/[A-Z]+/g, (m) => m.toLowerCase()))
  env.registerFunction('string.cerbosUpperAscii(): string', (t: string) => t.replace(/[a-z]+/g, (m) => m.toUpperCase()))
  env.registerFunction('string.cerbosTrim(): string', (t: string) => t.replace(TRIM, ''))
  env.registerFunction('string.reverse(): string', (t: string) => codePoints(t).reverse().join(''))
  env.registerType('StringsNamespace', StringsNamespace)
  env.registerConstant('strings', 'StringsNamespace', new StringsNamespace())
  env.registerFunction('StringsNamespace.quote(string): string', (_: unknown, t: string) => quote(t))
}
